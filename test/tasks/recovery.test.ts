import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { NewOrganization } from '../../src/auth/organizations.js';
import { getCreditAccount } from '../../src/billing/accounts.js';
import { reserveWith } from '../../src/billing/holds.js';
import { spendPeriodsAt } from '../../src/billing/spend-caps.js';
import { openDatabase } from '../../src/db/client.js';
import { releaseAbandonedTasks, startRecoveryLoop } from '../../src/tasks/recovery.js';
import { insertWorkingTaskFromHold } from '../../src/tasks/store.js';
import { capturedLog } from '../helpers/captured-log.js';
import { BUILT_IN_VERSION, checkLedgerAfterEach, expectLedgerInvariant, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { waitFor } from '../helpers/wait.js';

/** What these tests read of a task the hold wrote: its id. */
const heldTask = z.object({ id: z.string() });

describe('recovery of tasks whose process died mid-call', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway();
  });
  afterAll(() => gateway.close());
  checkLedgerAfterEach(() => [gateway], { idle: false });

  /** A task left `working` with its hold, as a killed process would leave it. */
  async function strandedTask(org: NewOrganization, deadlineMs: number): Promise<z.infer<typeof heldTask>> {
    const id = randomUUID();
    const [row] = await gateway.database.db.rows(
      heldTask,
      reserveWith({
        orgId: org.orgId,
        keyId: org.apiKey.id,
        cost: 10_000n,
        periods: spendPeriodsAt(new Date()),
        taskWrite: insertWorkingTaskFromHold(
          {
            id,
            keyId: org.apiKey.id,
            contextId: randomUUID(),
            messageId: `m-${id}`,
            tool: 'getReputationSummary',
            ...BUILT_IN_VERSION,
            arguments: { agentId: 1 },
            cost: 10_000n,
            history: [],
            deadlineMs,
          },
          { owner: 'a-dead-instance', until: sql`now() + interval '1 hour'` },
        ),
      }),
    );
    if (!row) throw new Error('hold was not placed');
    return row;
  }

  it('fails tasks past their deadline, releases every hold of an organization, and leaves live tasks alone', async () => {
    const org = await gateway.createOrg({ credits: 100_000n });
    const stranded = await Promise.all([1, 2, 3].map(() => strandedTask(org, -1_000)));
    const live = await strandedTask(org, 60_000);
    expect((await getCreditAccount(gateway.database.db, org.orgId))?.reserved).toBe(40_000n);

    expect(await releaseAbandonedTasks(gateway.database.db)).toBe(3);

    const account = await getCreditAccount(gateway.database.db, org.orgId);
    expect(account).toMatchObject({ balance: 100_000n, reserved: 10_000n });
    const states = await gateway.database.db.rows(
      z.object({ id: z.string(), state: z.string(), reason: z.string().nullable() }),
      sql`select id, state, error->>'reason' as reason from tasks where org_id = ${org.orgId}`,
    );
    for (const task of stranded) {
      expect(states.find((row) => row.id === task.id)).toMatchObject({ state: 'failed', reason: 'abandoned' });
    }
    expect(states.find((row) => row.id === live.id)).toMatchObject({ state: 'working' });
    const releases = await gateway.database.db.rows(
      z.object({ n: z.bigint() }),
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
      for (let n = 0; n < 200; n++) await strandedTask(org, -1_000);
    }

    expect(await releaseAbandonedTasks(gateway.database.db)).toBe(400);

    for (const org of orgs) {
      expect(await getCreditAccount(gateway.database.db, org.orgId)).toMatchObject({ balance: 2_000_000n, reserved: 0n });
      const [counts] = await gateway.database.db.rows(
        z.object({ releases: z.bigint(), failed: z.bigint() }),
        sql`
        select (select count(*) from ledger_entries where org_id = ${org.orgId} and kind = 'release' and reason = 'abandoned') as releases,
               (select count(*) from tasks where org_id = ${org.orgId} and state = 'failed') as failed`,
      );
      expect(counts).toEqual({ releases: 200n, failed: 200n });
    }
    // each statement stamps its tasks with its own now(): no statement settled more than a batch
    const [largest] = await gateway.database.db.rows(
      z.object({ n: z.bigint().nullable() }),
      sql`select max(n) as n from (select count(*) as n from tasks where error->>'reason' = 'abandoned' group by updated_at) per_statement`,
    );
    expect(largest?.n).toBe(200n);
    expect(await releaseAbandonedTasks(gateway.database.db)).toBe(0);
  });
  it('the loop every instance runs releases a task stranded while it runs, says how many in one warning, and stops', async () => {
    const org = await gateway.createOrg({ credits: 100_000n });
    const { log, lines } = capturedLog('info');
    const stop = startRecoveryLoop(gateway.database.db, log, 25);
    try {
      // Passes that find nothing say nothing: a quiet gateway's log stays quiet. (Absence can only be
      // watched for a while: about four passes.)
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(lines).toEqual([]);
      const stranded = [await strandedTask(org, -1_000), await strandedTask(org, -1_000)];

      await waitFor(async () => (await getCreditAccount(gateway.database.db, org.orgId))?.reserved === 0n, 'the loop to release the holds');
      const [states] = await gateway.database.db.rows(
        z.object({ failed: z.bigint() }),
        sql`select count(*) as failed from tasks where id in (${stranded[0]?.id}, ${stranded[1]?.id}) and state = 'failed' and error->>'reason' = 'abandoned'`,
      );
      expect(states?.failed).toBe(2n);
      // One warning per pass that released something (the two may fall in one pass or two).
      await waitFor(() => lines.reduce((sum, line) => sum + Number(line.released), 0) === 2, 'warnings for both tasks');
      for (const line of lines) expect(line).toMatchObject({ level: 40, msg: 'released abandoned tasks' });
    } finally {
      await stop();
    }
    // Stopped means stopped: a task stranded now stays working until someone sweeps again.
    const after = await strandedTask(org, -1_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const [row] = await gateway.database.db.rows(z.object({ state: z.string() }), sql`select state from tasks where id = ${after.id}`);
    expect(row?.state).toBe('working');
    expect(await releaseAbandonedTasks(gateway.database.db)).toBe(1);
  });

  it('a sweep that fails is logged as an error and the loop sweeps again', async () => {
    // A database handle that is closed: every statement fails as a lost connection would.
    const closed = await openDatabase(process.env.DATABASE_URL ? { url: process.env.DATABASE_URL, poolSize: 1 } : { memory: true });
    await closed.close();
    const { log, lines } = capturedLog('info');
    const stop = startRecoveryLoop(closed, log, 10);
    try {
      await waitFor(() => lines.length >= 2, 'two failed sweeps');
    } finally {
      await stop();
    }
    expect(lines.slice(0, 2)).toEqual([
      expect.objectContaining({ level: 50, msg: 'recovery sweep failed', err: expect.objectContaining({ message: expect.any(String) }) }),
      expect.objectContaining({ level: 50, msg: 'recovery sweep failed' }),
    ]);
  });
});
