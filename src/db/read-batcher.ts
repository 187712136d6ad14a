import type { z } from 'zod';
import type { Database } from './client.js';
import type { Statement } from './statement.js';

/**
 * Reads of one kind, many at once, as ONE statement: PostgreSQL parses, plans and answers one
 * statement instead of one per read, and both sides write, read and wake up once per group (the
 * bench's profile had a sixth of the gateway's CPU in writing statements to the socket).
 *
 * At most `inFlight` statements run at once; reads that arrive while they run wait and go
 * together in the next one, as the charge combiner does for charges (tasks/charge-combiner.ts). A
 * read that finds a free slot goes at once, so grouping adds no wait while the database keeps up.
 */
export interface ReadBatcher<Request, Answer> {
  /** The answer to `request`, or undefined when the statement returned no row for it. */
  read(request: Request): Promise<Answer | undefined>;
}

/**
 * Read statements running at once per kind of read. More than the charge combiner's two: a read
 * holds no lock, and a pool of ten connections serves both.
 */
const READS_IN_FLIGHT = 4;
/** Bounds one read statement's parameter and answer. */
const MAX_READS_PER_STATEMENT = 50;

export interface ReadBatch<Request, Row extends z.ZodType<{ n: number }>> {
  /** Each row carries `n`, the 1-based place of the request it answers in `requests`; at most one row per request. */
  row: Row;
  statement(requests: readonly Request[]): Statement;
  /** statements running at once (READS_IN_FLIGHT unless said) */
  inFlight?: number;
  /** requests in one statement at most (MAX_READS_PER_STATEMENT unless said) */
  maxRequests?: number;
}

interface Waiting<Request, Answer> {
  request: Request;
  resolve(answer: Answer | undefined): void;
  reject(error: unknown): void;
}

export function createReadBatcher<Request, Row extends z.ZodType<{ n: number }>>(
  db: Pick<Database, 'rows'>,
  batch: ReadBatch<Request, Row>,
): ReadBatcher<Request, z.output<Row>> {
  const pending: Waiting<Request, z.output<Row>>[] = [];
  let running = 0;

  async function run(group: Waiting<Request, z.output<Row>>[]): Promise<void> {
    try {
      const rows = await db.rows(batch.row, batch.statement(group.map((entry) => entry.request)));
      const byPlace = new Map(rows.map((row) => [row.n, row]));
      group.forEach((entry, index) => {
        entry.resolve(byPlace.get(index + 1));
      });
    } catch (error) {
      // A read has no part of its own that could make the statement fail (its values are checked
      // before it gets here): a failure is the database's, and every read of the group shares it.
      for (const entry of group) entry.reject(error);
    }
  }

  async function drain(): Promise<void> {
    running += 1;
    while (pending.length > 0) await run(pending.splice(0, batch.maxRequests ?? MAX_READS_PER_STATEMENT));
    running -= 1;
  }

  return {
    read: (request) =>
      new Promise((resolve, reject) => {
        pending.push({ request, resolve, reject });
        if (running < (batch.inFlight ?? READS_IN_FLIGHT)) void drain();
      }),
  };
}

/** A kind of read done in groups: its batcher for a database, made at the first read on it. */
export function groupedReads<Request, Row extends z.ZodType<{ n: number }>>(
  batch: ReadBatch<Request, Row>,
): (db: Pick<Database, 'rows'>) => ReadBatcher<Request, z.output<Row>> {
  const made = new WeakMap<Pick<Database, 'rows'>, ReadBatcher<Request, z.output<Row>>>();
  return (db) => {
    let batcher = made.get(db);
    if (!batcher) {
      batcher = createReadBatcher(db, batch);
      made.set(db, batcher);
    }
    return batcher;
  };
}
