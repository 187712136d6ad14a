import { fillPlaceholders, type Placeholder, SQL, type SQLChunk, sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';

const dialect = new PgDialect();

/**
 * One execution of a statement template: the text rendered once, with this execution's values.
 * A paid call's statements are built from many small SQL fragments; rendering them again at every
 * call cost about a twentieth of the gateway's CPU in the bench's profile.
 */
export class BoundStatement {
  constructor(
    readonly text: string,
    readonly params: readonly unknown[],
    /** the text between the parameters, for a driver that takes drizzle SQL only */
    private readonly pieces: readonly string[],
  ) {}

  /** The same statement as drizzle SQL (for PGlite and transactions, which run drizzle's `execute`). */
  toSql(): SQL {
    const chunks: SQLChunk[] = [sql.raw(this.pieces[0] ?? '')];
    this.params.forEach((value, index) => {
      chunks.push(sql.param(value), sql.raw(this.pieces[index + 1] ?? ''));
    });
    return sql.fromList(chunks);
  }
}

/** What a database statement accepts: drizzle SQL, rendered at each execution, or a bound template. */
export type Statement = SQL | BoundStatement;

export function asSql(statement: Statement): SQL {
  return statement instanceof SQL ? statement : statement.toSql();
}

export function asQuery(statement: Statement): { text: string; params: readonly unknown[] } {
  if (statement instanceof BoundStatement) return statement;
  const { sql: text, params } = dialect.sqlToQuery(statement);
  return { text, params };
}

/**
 * A statement whose text is rendered once, when the module defining it loads; each execution only
 * binds its named slots. `build` gets `slot(name)` to put where a value goes; everything else it
 * writes is fixed for all executions (so a statement whose shape depends on its input needs one
 * template per shape).
 */
export class StatementTemplate<Slot extends string> {
  private readonly text: string;
  private readonly params: readonly unknown[];
  private readonly pieces: readonly string[];

  constructor(build: (slot: (name: Slot) => Placeholder<Slot>) => SQL) {
    const { sql: text, params } = dialect.sqlToQuery(build((name) => sql.placeholder(name)));
    // drizzle writes parameter i as $i, in order; a "$1" of the statement's own would be misread.
    const pieces = text.split(/\$\d+/);
    const numbers = [...text.matchAll(/\$(\d+)/g)].map((match) => Number(match[1]));
    if (numbers.length !== params.length || numbers.some((number, index) => number !== index + 1)) {
      throw new Error('a statement template holds "$<digits>" text of its own; write it as a parameter');
    }
    this.text = text;
    this.params = params;
    this.pieces = pieces;
  }

  bind(values: Readonly<Record<Slot, unknown>>): BoundStatement {
    return new BoundStatement(this.text, fillPlaceholders(this.params as Parameters<typeof fillPlaceholders>[0], values), this.pieces);
  }
}
