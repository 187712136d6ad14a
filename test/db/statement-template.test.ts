import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { StatementTemplate } from '../../src/db/statement.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

/**
 * A statement rendered once and bound per execution (issue 18) answers what the same statement
 * rendered from drizzle SQL answers, on whichever driver the suite runs (PostgreSQL with
 * DATABASE_URL, PGlite without), outside and inside a transaction.
 */
describe('statement templates', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database?.dispose());

  const Row = z.object({ sum: z.bigint(), label: z.string(), same: z.boolean() });
  const statement = (slot: { a: unknown; b: unknown; label: unknown }) =>
    sql`select (${slot.a}::int8 + ${slot.b}::int8) as sum, ${slot.label}::text || '!' as label, ${slot.a}::int8 = ${slot.b}::int8 as same`;
  const template = new StatementTemplate<'a' | 'b' | 'label'>((slot) => statement({ a: slot('a'), b: slot('b'), label: slot('label') }));

  it('binds its slots, a slot used twice taking its value twice', async () => {
    const values = { a: 40n, b: 2n, label: "it's" };
    const [bound] = await database.db.rows(Row, template.bind(values));
    const [rendered] = await database.db.rows(Row, statement(values));
    expect(bound).toEqual({ sum: 42n, label: "it's!", same: false });
    expect(bound).toEqual(rendered);
    const [again] = await database.db.rows(Row, template.bind({ a: 7n, b: 7n, label: 'x' }));
    expect(again).toEqual({ sum: 14n, label: 'x!', same: true });
  });

  it('keeps values that are no slot as parameters of their own', async () => {
    const fixed = new StatementTemplate<'a'>(
      (slot) => sql`select (${slot('a')}::int8 + ${5}::int8) as sum, ${'fixed'}::text as label, false as same`,
    );
    expect(await database.db.rows(Row, fixed.bind({ a: 1n }))).toEqual([{ sum: 6n, label: 'fixed', same: false }]);
  });

  it('runs inside a transaction, which rolls back with it', async () => {
    await database.db.run(sql`create table template_probe (n int8 primary key)`);
    const insert = new StatementTemplate<'n'>((slot) => sql`insert into template_probe (n) values (${slot('n')}::int8)`);
    await expect(
      database.db.transaction(async (tx) => {
        await tx.run(insert.bind({ n: 1n }));
        throw new Error('undo');
      }),
    ).rejects.toThrow('undo');
    await database.db.transaction((tx) => tx.run(insert.bind({ n: 2n })));
    expect(await database.db.rows(z.object({ n: z.bigint() }), sql`select n from template_probe`)).toEqual([{ n: 2n }]);
  });

  it('refuses text that would be read as a parameter', () => {
    expect(() => new StatementTemplate<'a'>((slot) => sql`select '$1' as text, ${slot('a')}::int8 as n`)).toThrow(
      /"\$<digits>" text of its own/,
    );
  });
});
