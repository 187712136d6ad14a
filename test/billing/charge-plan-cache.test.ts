import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { OPERATOR } from '../../src/audit/record.js';
import { createOrganization } from '../../src/auth/organizations.js';
import { reserveWith } from '../../src/billing/holds.js';
import { spendPeriodsAt } from '../../src/billing/spend-caps.js';
import type { Database } from '../../src/db/client.js';
import { asQuery, type Statement } from '../../src/db/statement.js';
import { chargeStatement } from '../../src/tasks/charge-combiner.js';
import { type AnsweredCall, insertWorkingTaskFromHold, messageIdUnused } from '../../src/tasks/store.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { BUILT_IN_VERSION } from '../helpers/gateway.js';
import { needs } from '../helpers/requirements.js';

const GROWN_TASKS = 100_000;
/**
 * Blocks the measured plans may touch once `tasks` has grown. A probe that walks the organization's
 * tasks through (org_id, created_at) reads about 4,000 for each messageId. A charge of 20 calls
 * reads about 370 (its task inserts and 40 index lookups); a hold about 30.
 */
const CHARGE_BLOCKS_BOUND = 2_000;
const HOLD_BLOCKS_BOUND = 500;

const Analysed = z.object({
  'QUERY PLAN': z.tuple([z.object({ Plan: z.object({ 'Shared Hit Blocks': z.number(), 'Shared Read Blocks': z.number() }) })]),
});
const Written = z.object({ id: z.string() });

/**
 * The gateway prepares the charge and the hold (db/client.ts: generic plans, cached per
 * connection), and a fresh database starts with no tasks. A plan cached then must still find a
 * retried messageId by index once an organization has many tasks (issue 18; ADR 0018): the probe
 * is the function `task_using_message_id`, planned apart at each execution. PostgreSQL only: on
 * PGlite nothing is prepared, and the lookups are inline (tasks/store.ts).
 */
describe('prepared while tasks is empty, the charge and the hold probe messageIds by index (PostgreSQL only)', needs('postgres'), () => {
  let database: TestDatabase;
  let orgId: string;
  let keyId: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    const org = await createOrganization(database.db, { name: 'busy', credits: 1_000_000_000n, by: OPERATOR });
    orgId = org.orgId;
    keyId = org.apiKey.id;
  });
  afterAll(() => database?.dispose());

  const call = (messageId: string): AnsweredCall => ({
    orgId,
    keyId,
    id: randomUUID(),
    contextId: 'c',
    messageId,
    tool: 'getAgentProfile',
    ...BUILT_IN_VERSION,
    arguments: {},
    cost: 1_000n,
    history: [],
    result: { ok: true },
    durationMs: 1,
  });
  const charge = (messageIds: string[]) =>
    chargeStatement(
      messageIds.map((messageId) => call(messageId)),
      spendPeriodsAt(new Date()),
      'postgres',
    );
  const hold = (messageId: string) => {
    const { id, ...fields } = call(messageId);
    return reserveWith({
      orgId,
      keyId,
      cost: 1_000n,
      periods: spendPeriodsAt(new Date()),
      guard: messageIdUnused('postgres', orgId, messageId),
      taskWrite: insertWorkingTaskFromHold(
        { ...fields, id, deadlineMs: 60_000 },
        { owner: 'test', until: sql`now() + interval '1 minute'` },
      ),
    });
  };

  /** `execute name(…)` with the statement's values written as literals. */
  const execute = (name: string, statement: Statement) => {
    const values = asQuery(statement).params.map((value) => (value === null ? 'null' : `'${String(value).replaceAll("'", "''")}'`));
    return `execute ${name}${values.length ? `(${values.join(', ')})` : ''}`;
  };
  const blocksOf = async (tx: Database, name: string, statement: Statement) => {
    const [row] = await tx.rows(Analysed, sql.raw(`explain (analyze, buffers, format json) ${execute(name, statement)}`));
    const plan = row!['QUERY PLAN'][0].Plan;
    return plan['Shared Hit Blocks'] + plan['Shared Read Blocks'];
  };

  it('a charge of 20 calls and a hold stay within a few hundred blocks, and a retry is still refused', async () => {
    await database.db.transaction(async (tx) => {
      // as the gateway's connections run them: prepared, generic plans
      await tx.run(sql`set local plan_cache_mode = force_generic_plan`);
      await tx.run(sql.raw(`prepare charge as ${asQuery(charge(['first'])).text}`));
      await tx.run(sql.raw(`prepare hold as ${asQuery(hold('first-held')).text}`));
      // the generic plans are made and cached now, with tasks empty
      expect(await tx.rows(Written, sql.raw(execute('charge', charge(['first']))))).toHaveLength(1);
      expect(await tx.rows(Written, sql.raw(execute('hold', hold('first-held'))))).toHaveLength(1);

      await tx.run(sql`
        insert into tasks (org_id, context_id, message_id, call_message_id, tool, cost, state, history, duration_ms)
        select ${orgId}, 'c', 'old-' || i, 'old-' || i, 'getAgentProfile', 1000, 'completed', '[]'::jsonb, 1
          from generate_series(1, ${GROWN_TASKS}::int) i`);

      const twenty = Array.from({ length: 20 }, (_, n) => `new-${n}`);
      expect(await blocksOf(tx, 'charge', charge(twenty))).toBeLessThan(CHARGE_BLOCKS_BOUND);
      expect(await blocksOf(tx, 'hold', hold('new-held'))).toBeLessThan(HOLD_BLOCKS_BOUND);

      // a messageId a task already used, by its first message or by a follow-up's call, is not charged again
      const retried = await tx.rows(Written, sql.raw(execute('charge', charge(['old-7', 'again-0', `old-${GROWN_TASKS}`]))));
      expect(retried).toHaveLength(1);
      expect(await tx.rows(Written, sql.raw(execute('hold', hold('old-9'))))).toEqual([]);
      await tx.run(sql.raw('deallocate all'));
    });
  }, 120_000);
});
