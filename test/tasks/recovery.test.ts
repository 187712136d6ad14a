import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getCreditAccount } from '../../src/billing/accounts.js';
import { reserveWith } from '../../src/billing/holds.js';
import { releaseAbandonedTasks } from '../../src/tasks/recovery.js';
import { insertWorkingTaskFromHold, type TaskRow } from '../../src/tasks/store.js';
import { checkLedgerAfterEach, expectLedgerInvariant, startTestGateway, type TestGateway } from '../helpers/gateway.js';

describe('recovery of tasks whose process died mid-call', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway();
  });
  afterAll(() => gateway.close());
  checkLedgerAfterEach(() => [gateway], { idle: false });

  /** A task left `working` with its hold, as a killed process would leave it. */
  async function strandedTask(orgId: string, deadlineMs: number): Promise<TaskRow> {
    const id = randomUUID();
    const [row] = await gateway.database.db.rows<TaskRow>(
      reserveWith({
        orgId,
        cost: 10_000n,
        taskWrite: insertWorkingTaskFromHold({
          id,
          contextId: randomUUID(),
          messageId: `m-${id}`,
          tool: 'getReputationSummary',
          arguments: { agentId: 1 },
          cost: 10_000n,
          history: [],
          deadlineMs,
        }, { owner: 'a-dead-instance', until: sql`now() + interval '1 hour'` }),
      }),
    );
    if (!row) throw new Error('hold was not placed');
    return row;
  }

  it('fails tasks past their deadline, releases every hold of an organization, and leaves live tasks alone', async () => {
    const org = await gateway.createOrg({ credits: 100_000n });
    const stranded = await Promise.all([1, 2, 3].map(() => strandedTask(org.orgId, -1_000)));
    const live = await strandedTask(org.orgId, 60_000);
    expect((await getCreditAccount(gateway.database.db, org.orgId))?.reserved).toBe(40_000n);

    expect(await releaseAbandonedTasks(gateway.database.db)).toBe(3);

    const account = await getCreditAccount(gateway.database.db, org.orgId);
    expect(account).toMatchObject({ balance: 100_000n, reserved: 10_000n });
    const states = await gateway.database.db.rows<{ id: string; state: string; reason: string | null }>(
      sql`select id, state, error->>'reason' as reason from tasks where org_id = ${org.orgId}`,
    );
    for (const task of stranded) {
      expect(states.find((row) => row.id === task.id)).toMatchObject({ state: 'failed', reason: 'abandoned' });
    }
    expect(states.find((row) => row.id === live.id)).toMatchObject({ state: 'working' });
    const releases = await gateway.database.db.rows<{ n: bigint }>(
      sql`select count(*) as n from ledger_entries where org_id = ${org.orgId} and kind = 'release' and reason = 'abandoned'`,
    );
    expect(releases[0]?.n).toBe(3n);
    expect(await releaseAbandonedTasks(gateway.database.db)).toBe(0);
    await expectLedgerInvariant(gateway, { idle: false });
  });

  it('releases every hold once when more tasks are stranded than one sweep statement settles', async () => {
    // 400 = two full batches of 200: the sweep must go on after a full batch and stop after an empty one.
    const orgs = [await gateway.createOrg({ credits: 2_000_000n }), await gateway.createOrg({ credits: 2_000_000n })];
    for (const org of orgs) {
      for (let n = 0; n < 200; n++) await strandedTask(org.orgId, -1_000);
    }

    expect(await releaseAbandonedTasks(gateway.database.db)).toBe(400);

    for (const org of orgs) {
      expect(await getCreditAccount(gateway.database.db, org.orgId)).toMatchObject({ balance: 2_000_000n, reserved: 0n });
      const [counts] = await gateway.database.db.rows<{ releases: bigint; failed: bigint }>(sql`
        select (select count(*) from ledger_entries where org_id = ${org.orgId} and kind = 'release' and reason = 'abandoned') as releases,
               (select count(*) from tasks where org_id = ${org.orgId} and state = 'failed') as failed`);
      expect(counts).toEqual({ releases: 200n, failed: 200n });
    }
    // each statement stamps its tasks with its own now(): no statement settled more than a batch
    const [largest] = await gateway.database.db.rows<{ n: bigint }>(sql`
      select max(n) as n from (select count(*) as n from tasks where error->>'reason' = 'abandoned' group by updated_at) per_statement`);
    expect(largest?.n).toBe(200n);
    expect(await releaseAbandonedTasks(gateway.database.db)).toBe(0);
  });
});
