import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getCreditAccount } from '../../src/billing/accounts.js';
import { reserveWith } from '../../src/billing/holds.js';
import { releaseAbandonedTasks } from '../../src/tasks/recovery.js';
import { insertWorkingTaskFromHold, type TaskRow } from '../../src/tasks/store.js';
import { expectLedgerInvariant, startTestGateway, type TestGateway } from '../helpers/gateway.js';

describe('recovery of tasks whose process died mid-call', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway();
  });
  afterAll(() => gateway.close());

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
});
