import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type Database, openDatabase } from '../../src/db/client.js';
import { createTestDatabase, databaseOptions, type TestDatabase } from '../helpers/database.js';

const N = z.object({ n: z.number() });
/** Sends rows 1, 2 and 3, then fails on the fourth (division by zero). */
const failsAfterThreeRows = sql`select i as n, 1 / (4 - i) as boom from generate_series(1, 10) i`;

/**
 * A statement that fails after sending some rows must not leave its row count behind for the next
 * statement on the same connection (postgres.js 3.4 does: porsager/postgres#1119, #1181). One
 * connection, so the next statement is sure to run on it; PGlite runs the same checks.
 */
describe('the statement after one that failed mid-rows gets exactly its own rows', () => {
  let database: TestDatabase;
  let db: Database;
  beforeAll(async () => {
    database = await createTestDatabase();
    db = database.url ? await openDatabase({ ...databaseOptions(database.url), poolSize: 1 }) : database.db;
  });
  afterAll(async () => {
    if (db !== database?.db) await db?.close();
    await database?.dispose();
  });

  it('outside a transaction, and pipelined behind it', async () => {
    await expect(db.rows(N, failsAfterThreeRows)).rejects.toThrow();
    expect(await db.rows(N, sql`select i as n from generate_series(1, 2) i`)).toEqual([{ n: 1 }, { n: 2 }]);
    const [failed, next] = await Promise.allSettled([db.rows(N, failsAfterThreeRows), db.rows(N, sql`select ${5}::int as n`)]);
    expect(failed.status).toBe('rejected');
    expect(next).toEqual({ status: 'fulfilled', value: [{ n: 5 }] });
  });

  it('in a transaction after it', async () => {
    await expect(db.rows(N, failsAfterThreeRows)).rejects.toThrow();
    expect(await db.transaction((tx) => tx.rows(N, sql`select i as n from generate_series(7, 8) i`))).toEqual([{ n: 7 }, { n: 8 }]);
  });
});
