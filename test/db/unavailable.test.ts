import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/client.js';
import { isDatabaseUnavailable, warnDatabaseUnavailable } from '../../src/db/unavailable.js';
import { capturedLog } from '../helpers/captured-log.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { freePort } from '../helpers/loopback.js';
import { needs } from '../helpers/requirements.js';

/** What the statement threw, as the driver threw it. */
async function failureOf(statement: () => Promise<unknown>): Promise<unknown> {
  try {
    await statement();
  } catch (error) {
    return error;
  }
  throw new Error('the statement did not fail');
}

/**
 * The errors the drivers really throw, told apart: a database that cannot be reached or ends the
 * session is "unavailable" (the request may succeed shortly: 503 with Retry-After), a statement
 * the database refuses is not (a bug, or the caller's: never retried as if transient).
 */
describe('a database failure told from a failed statement', () => {
  let database: TestDatabase;
  let freePortNow: number;
  beforeAll(async () => {
    database = await createTestDatabase();
    freePortNow = await freePort();
  });
  afterAll(() => database?.dispose());

  it('nothing listening on the port is unavailable', async () => {
    const db = await openDatabase({ url: `postgres://postgres@127.0.0.1:${await freePort()}/postgres` });
    try {
      const error = await failureOf(() => db.run(sql`select 1`));
      expect(isDatabaseUnavailable(error)).toBe(true);
    } finally {
      await db.close();
    }
  });

  it('a statement the database refuses is not', async () => {
    expect(isDatabaseUnavailable(await failureOf(() => database.db.run(sql`select * from no_such_table`)))).toBe(false);
    expect(isDatabaseUnavailable(await failureOf(() => database.db.run(sql`select 1/0`)))).toBe(false);
    expect(isDatabaseUnavailable(new Error('a bug of ours'))).toBe(false);
  });

  it("a tool's own request that cannot connect (the LLM, an upstream) is not, though its code is a network one", async () => {
    const error = await failureOf(() => fetch(`http://127.0.0.1:${freePortNow}/chat/completions`));
    expect((error as { cause?: { code?: string } }).cause?.code).toBe('ECONNREFUSED');
    expect(isDatabaseUnavailable(error)).toBe(false);
    // nor when it leaves a transaction's work
    const fromWork = await failureOf(() =>
      database.db.transaction(async () => {
        throw error;
      }),
    );
    expect(fromWork).toBe(error);
    expect(isDatabaseUnavailable(fromWork)).toBe(false);
  });

  it('a session the server ends (57P01, as a fast shutdown does) is unavailable', needs('postgres'), async () => {
    const error = await failureOf(() => database.db.run(sql`select pg_terminate_backend(pg_backend_pid())`));
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it('is warned of once in a while, saying how many went unsaid, not once per request', () => {
    const { log, lines } = capturedLog('warn');
    const lost = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    for (let i = 0; i < 5; i++) warnDatabaseUnavailable(log, lost);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, unreportedSinceLastWarning: 0 });
  });
});
