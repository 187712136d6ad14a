import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { OPERATOR } from '../../src/audit/record.js';
import type { NewOrganization } from '../../src/auth/organizations.js';
import { getCreditAccount, grantCredits, NoCreditAccountError, openCreditAccount } from '../../src/billing/accounts.js';
import { reserveWith, settleWith } from '../../src/billing/holds.js';
import { spendPeriodsAt } from '../../src/billing/spend-caps.js';
import { createChargeCombiner } from '../../src/tasks/charge-combiner.js';
import { releaseAbandonedTasks } from '../../src/tasks/recovery.js';
import {
  type AnsweredCall,
  cancelOpenTask,
  completeWorkingTask,
  failWorkingTask,
  insertWaitingTask,
  insertWorkingTaskFromHold,
} from '../../src/tasks/store.js';
import { BUILT_IN_VERSION, type SettlementMode, type TestGateway } from '../helpers/gateway.js';
import { needs } from '../helpers/requirements.js';
import { useSeededGateway } from '../helpers/seeded-gateway.js';

/**
 * Promises about money that each held on the day they were written but that no other test would
 * notice breaking (issue 24): settlements by the wrong instance or of a finished task, a grouped
 * charge that meets a duplicate messageId, and the exact credit boundary of a call.
 */

const TIER0_COST = 1_000n;
const HELD_COST = 50_000n;

const ledgerRow = z.object({ kind: z.string(), amount: z.bigint(), reservedDelta: z.bigint(), taskId: z.string().nullable() });

async function ledgerOf(gateway: TestGateway, orgId: string): Promise<z.infer<typeof ledgerRow>[]> {
  return gateway.database.db.rows(
    ledgerRow,
    sql`
    select kind::text as kind, amount, reserved_delta as "reservedDelta", task_id::text as "taskId"
      from ledger_entries where org_id = ${orgId} and kind <> 'grant' order by id`,
  );
}

/** What these tests read of a task a hold or a settlement wrote. */
const writtenTask = z.object({ id: z.string(), state: z.string() });

async function accountOf(gateway: TestGateway, orgId: string) {
  const account = await getCreditAccount(gateway.database.db, orgId);
  if (!account) throw new Error(`no account for ${orgId}`);
  return { balance: account.balance, reserved: account.reserved };
}

/**
 * Reserves `cost` for a held getReputationReport task of `orgId` working under `owner`'s lease, as a
 * paid call's reservation does; `deadlineMs` past zero, or a lease `until` now, make it abandoned.
 */
async function holdTask(
  gateway: TestGateway,
  input: { org: NewOrganization; cost: bigint; owner: string; deadlineMs: number; until?: ReturnType<typeof sql> },
): Promise<z.infer<typeof writtenTask>> {
  const [task] = await gateway.database.db.rows(
    writtenTask,
    reserveWith({
      orgId: input.org.orgId,
      keyId: input.org.apiKey.id,
      cost: input.cost,
      periods: spendPeriodsAt(new Date()),
      taskWrite: insertWorkingTaskFromHold(
        {
          id: randomUUID(),
          keyId: input.org.apiKey.id,
          contextId: randomUUID(),
          messageId: randomUUID(),
          tool: 'getReputationReport',
          ...BUILT_IN_VERSION,
          arguments: {},
          cost: input.cost,
          history: [],
          deadlineMs: input.deadlineMs,
        },
        { owner: input.owner, until: input.until ?? sql`now() + interval '1 minute'` },
      ),
    }),
  );
  if (!task) throw new Error('the hold was not placed');
  return task;
}

describe('a settlement by an instance without the lease, or of a task no longer working, moves no money', () => {
  const suite = useSeededGateway({ demoData: false });

  /** A held task of `orgId` working under `owner`'s lease, its cost reserved as a paid call's is. */
  const workingTask = (org: NewOrganization, owner: string, deadline: 'later' | 'passed' = 'later') =>
    holdTask(suite.gateway, { org, cost: HELD_COST, owner, deadlineMs: deadline === 'later' ? 60_000 : -1_000 });

  const db = () => suite.gateway.database.db;
  const capture = (taskId: string, owner: string) =>
    db().rows(
      writtenTask,
      settleWith('capture', completeWorkingTask(taskId, owner, { ok: true }, 5), { periods: spendPeriodsAt(new Date()) }),
    );
  const release = (taskId: string, owner: string) =>
    db().rows(
      writtenTask,
      settleWith('release', failWorkingTask(taskId, owner, { reason: 'tool_failed', message: 'failed' }, 5), { reason: 'tool_failed' }),
    );

  it('a capture or a release by an instance that does not hold the lease changes nothing; the holder settles once', async () => {
    const org = await suite.gateway.createOrg({ credits: 1_000_000n });
    const task = await workingTask(org, 'instance-a');
    expect(await accountOf(suite.gateway, org.orgId)).toEqual({ balance: 1_000_000n, reserved: HELD_COST });

    expect(await capture(task.id, 'instance-b')).toEqual([]);
    expect(await release(task.id, 'instance-b')).toEqual([]);
    expect(await accountOf(suite.gateway, org.orgId)).toEqual({ balance: 1_000_000n, reserved: HELD_COST });
    expect((await ledgerOf(suite.gateway, org.orgId)).map((row) => row.kind)).toEqual(['reserve']);

    const [captured] = await capture(task.id, 'instance-a');
    expect(captured).toMatchObject({ id: task.id, state: 'completed' });
    expect(await accountOf(suite.gateway, org.orgId)).toEqual({ balance: 1_000_000n - HELD_COST, reserved: 0n });
    expect(await ledgerOf(suite.gateway, org.orgId)).toEqual([
      { kind: 'reserve', amount: 0n, reservedDelta: HELD_COST, taskId: task.id },
      { kind: 'capture', amount: -HELD_COST, reservedDelta: -HELD_COST, taskId: task.id },
    ]);
  });

  it('a task settled once is never settled again: not a second capture, a release after it, a second release, a cancel or a sweep', async () => {
    const org = await suite.gateway.createOrg({ credits: 1_000_000n });
    const captured = await workingTask(org, 'instance-a');
    const released = await workingTask(org, 'instance-a');
    expect(await capture(captured.id, 'instance-a')).toHaveLength(1);
    expect(await release(released.id, 'instance-a')).toHaveLength(1);
    const settled = await accountOf(suite.gateway, org.orgId);
    expect(settled).toEqual({ balance: 1_000_000n - HELD_COST, reserved: 0n });
    const ledger = await ledgerOf(suite.gateway, org.orgId);
    expect(ledger.map((row) => row.kind)).toEqual(['reserve', 'reserve', 'capture', 'release']);

    for (const task of [captured, released]) {
      expect(await capture(task.id, 'instance-a')).toEqual([]);
      expect(await release(task.id, 'instance-a')).toEqual([]);
      expect(await db().rows(writtenTask, settleWith('release', cancelOpenTask(org.orgId, task.id), { reason: 'canceled' }))).toEqual([]);
    }
    expect(await releaseAbandonedTasks(db())).toBe(0);
    expect(await accountOf(suite.gateway, org.orgId)).toEqual(settled);
    expect(await ledgerOf(suite.gateway, org.orgId)).toEqual(ledger);
  });

  it('a cancelled or swept task is settled by whoever ended it; the run that finishes afterwards moves nothing', async () => {
    const org = await suite.gateway.createOrg({ credits: 1_000_000n });
    const canceled = await workingTask(org, 'instance-a');
    const abandoned = await workingTask(org, 'instance-a', 'passed');
    expect(
      await db().rows(writtenTask, settleWith('release', cancelOpenTask(org.orgId, canceled.id), { reason: 'canceled' })),
    ).toHaveLength(1);
    expect(await releaseAbandonedTasks(db())).toBe(1);
    expect(await accountOf(suite.gateway, org.orgId)).toEqual({ balance: 1_000_000n, reserved: 0n });
    for (const task of [canceled, abandoned]) {
      expect(await capture(task.id, 'instance-a')).toEqual([]);
      expect(await release(task.id, 'instance-a')).toEqual([]);
    }
    expect(await accountOf(suite.gateway, org.orgId)).toEqual({ balance: 1_000_000n, reserved: 0n });
    expect((await ledgerOf(suite.gateway, org.orgId)).map((row) => [row.kind, row.taskId])).toEqual([
      ['reserve', canceled.id],
      ['reserve', abandoned.id],
      ['release', canceled.id],
      ['release', abandoned.id],
    ]);
  });
});

/** An answered Tier 0 call of `org`'s first key, ready for the charge combiner. */
function answered(org: NewOrganization, messageId = randomUUID()): AnsweredCall {
  const id = randomUUID();
  return {
    id,
    orgId: org.orgId,
    keyId: org.apiKey.id,
    contextId: randomUUID(),
    messageId,
    tool: 'getAgentProfile',
    ...BUILT_IN_VERSION,
    arguments: { agentId: 1 },
    cost: TIER0_COST,
    history: [],
    result: { agentId: 1 },
    durationMs: 1,
  };
}

function sendBody(messageId: string, agentId: number) {
  return {
    jsonrpc: '2.0',
    id: messageId,
    method: 'SendMessage',
    params: { message: { messageId, role: 'ROLE_USER', parts: [{ data: { tool: 'getAgentProfile', arguments: { agentId } } }] } },
  };
}

describe.each(['by-tool', 'hold'] as const)(
  'grouped charges that meet duplicate messageIds (settlement %s)',
  (settlement: SettlementMode) => {
    const suite = useSeededGateway({ gateway: { settlement } });

    it('a batch mixing retries of answered calls with fresh calls charges each fresh call once, and answers every retry with its first task', async () => {
      const org = await suite.gateway.createOrg({ credits: 1_000_000n });
      const earlier = Array.from({ length: 5 }, () => randomUUID());
      const first = (await (
        await suite.gateway.rpc(
          earlier.map((messageId, i) => sendBody(messageId, i + 1)),
          org.apiKey.key,
        )
      ).json()) as {
        result?: { task: { id: string } };
      }[];
      const firstTasks = first.map((answer) => answer.result?.task.id);
      expect(firstTasks.every((id) => typeof id === 'string')).toBe(true);

      const fresh = Array.from({ length: 10 }, () => randomUUID());
      const mixed = [
        ...earlier.map((messageId, i) => sendBody(messageId, i + 1)),
        ...fresh.map((messageId, i) => sendBody(messageId, i + 1)),
      ];
      // Interleaved so the group the combiner forms holds both kinds, in no convenient order.
      const interleaved = mixed.map((_, i) => mixed[(i * 7) % mixed.length]!);
      const answers = (await (await suite.gateway.rpc(interleaved, org.apiKey.key)).json()) as {
        id: string;
        result?: { task: { id: string; status: { state: string } } };
        error?: { code: number };
      }[];
      expect(answers.filter((answer) => answer.error)).toEqual([]);
      for (const [i, messageId] of earlier.entries()) {
        expect(answers.find((answer) => answer.id === messageId)?.result?.task.id).toBe(firstTasks[i]);
      }
      const freshTasks = fresh.map((messageId) => answers.find((answer) => answer.id === messageId)?.result?.task);
      expect(freshTasks.map((task) => task?.status.state)).toEqual(fresh.map(() => 'TASK_STATE_COMPLETED'));
      expect(new Set(freshTasks.map((task) => task?.id)).size).toBe(fresh.length);

      expect(await accountOf(suite.gateway, org.orgId)).toEqual({ balance: 1_000_000n - 15n * TIER0_COST, reserved: 0n });
      const paid = (await ledgerOf(suite.gateway, org.orgId)).filter((row) => row.kind === (settlement === 'hold' ? 'capture' : 'charge'));
      expect(paid).toHaveLength(15);
      expect(new Set(paid.map((row) => row.taskId)).size).toBe(15);
    });
  },
);

describe('the charge combiner, one statement for a group of calls', () => {
  const suite = useSeededGateway({ demoData: false });

  it('charges every call of a group once, in order, until the credit is short: one for two orgs at once, never overdrawn', async () => {
    const rich = await suite.gateway.createOrg({ credits: 10n * TIER0_COST });
    const poor = await suite.gateway.createOrg({ credits: 2n * TIER0_COST + 999n });
    const combiner = createChargeCombiner(suite.gateway.database.db);
    const calls = [...Array.from({ length: 4 }, () => answered(rich)), ...Array.from({ length: 4 }, () => answered(poor))];
    const written = await Promise.all(calls.map((call) => combiner.charge(call)));
    expect(written.map((row) => row?.id)).toEqual([
      ...calls.slice(0, 4).map((call) => call.id),
      calls[4]!.id,
      calls[5]!.id,
      undefined,
      undefined,
    ]);
    expect(await accountOf(suite.gateway, rich.orgId)).toEqual({ balance: 6n * TIER0_COST, reserved: 0n });
    expect(await accountOf(suite.gateway, poor.orgId)).toEqual({ balance: 999n, reserved: 0n });
    expect((await ledgerOf(suite.gateway, poor.orgId)).map((row) => [row.kind, row.amount, row.taskId])).toEqual([
      ['charge', -TIER0_COST, calls[4]!.id],
      ['charge', -TIER0_COST, calls[5]!.id],
    ]);
  });

  it('one messageId twice in a group: the first is charged, the second is not', async () => {
    const org = await suite.gateway.createOrg({ credits: 10n * TIER0_COST });
    const combiner = createChargeCombiner(suite.gateway.database.db);
    const messageId = randomUUID();
    // Two calls fill both statement slots, so the next four wait and go together as one statement.
    // (Two calls with one messageId in two statements at once race: which commits first is
    // chance, and the loser is refused with the unique violation, which writeOnce answers.)
    const slots = [answered(org), answered(org)];
    const group = [answered(org), answered(org, messageId), answered(org, messageId), answered(org)];
    const written = await Promise.all([...slots, ...group].map((call) => combiner.charge(call)));
    expect(written.map((row) => row?.id)).toEqual([...slots, ...group].map((call, i) => (i === 4 ? undefined : call.id)));
    expect(await accountOf(suite.gateway, org.orgId)).toEqual({ balance: 5n * TIER0_COST, reserved: 0n });
  });

  it(
    'a group whose insert meets a messageId taken meanwhile by another transaction still charges every other call once (PostgreSQL only: PGlite runs one transaction at a time)',
    needs('postgres'),
    async () => {
      const org = await suite.gateway.createOrg({ credits: 100n * TIER0_COST });
      const db = suite.gateway.database.db;
      const combiner = createChargeCombiner(db);
      const taken = randomUUID();
      let letGo!: () => void;
      const released = new Promise<void>((resolve) => (letGo = resolve));
      let inserted!: (pid: number) => void;
      const otherPid = new Promise<number>((resolve) => (inserted = resolve));
      // Another instance holds an uncommitted task with messageId `taken`: the group's insert of it
      // waits on the unique index, then fails with a unique violation once that task commits.
      const other = db.transaction(async (tx) => {
        await insertWaitingTask(tx, {
          id: randomUUID(),
          orgId: org.orgId,
          keyId: org.apiKey.id,
          contextId: randomUUID(),
          messageId: taken,
          history: [],
        });
        const [backend] = await tx.rows(z.object({ pid: z.number() }), sql`select pg_backend_pid() as pid`);
        inserted(backend!.pid);
        await released;
      });
      const pid = await otherPid;
      // Two calls fill both statement slots, so the next four wait and go together as one group.
      const slots = [answered(org), answered(org)];
      const group = [answered(org), answered(org, taken), answered(org), answered(org)];
      const charged = [...slots, ...group].map((call) => combiner.charge(call));
      for (let waited = 0; ; waited += 1) {
        const [blocked] = await db.rows(
          z.object({ n: z.number() }),
          sql`
          select count(*)::int as n from pg_stat_activity
           where datname = current_database() and ${pid} = any(pg_blocking_pids(pid)) and query like '%with recursive calls%'`,
        );
        if (blocked?.n === 1) break;
        if (waited > 600) throw new Error('the grouped charge never waited on the uncommitted task');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      letGo();
      await other;
      const written = await Promise.all(charged);
      expect(written.map((row) => row?.id)).toEqual([slots[0]!.id, slots[1]!.id, group[0]!.id, undefined, group[2]!.id, group[3]!.id]);
      expect(await accountOf(suite.gateway, org.orgId)).toEqual({ balance: 95n * TIER0_COST, reserved: 0n });
      const ledger = await ledgerOf(suite.gateway, org.orgId);
      expect(ledger.map((row) => row.taskId).sort()).toEqual([slots[0]!.id, slots[1]!.id, group[0]!.id, group[2]!.id, group[3]!.id].sort());
    },
  );
});

describe.each(['by-tool', 'hold'] as const)('the credit boundary of a paid call (settlement %s)', (settlement: SettlementMode) => {
  const suite = useSeededGateway({ gateway: { settlement } });

  async function call(apiKey: string) {
    return (await (await suite.gateway.rpc(sendBody(randomUUID(), 3), apiKey)).json()) as {
      result?: { task: { status: { state: string } } };
      error?: { code: number; data?: unknown };
    };
  }

  it('a cost equal to the available credit is paid, to zero; one micro-USDC short is refused and costs nothing', async () => {
    const exact = await suite.gateway.createOrg({ credits: TIER0_COST });
    const started = performance.now();
    const answer = await call(exact.apiKey.key);
    const elapsedMs = performance.now() - started;
    expect(answer.error).toBeUndefined();
    expect(answer.result?.task.status.state).toBe('TASK_STATE_COMPLETED');
    expect(await accountOf(suite.gateway, exact.orgId)).toEqual({ balance: 0n, reserved: 0n });
    // the duration billed usage reports is the tool's run, within the call's own time
    const [task] = await suite.gateway.database.db.rows(
      z.object({ durationMs: z.number().nullable() }),
      sql`select duration_ms as "durationMs" from tasks where org_id = ${exact.orgId}`,
    );
    expect(task?.durationMs).toBeGreaterThanOrEqual(0);
    expect(task?.durationMs).toBeLessThanOrEqual(Math.ceil(elapsedMs));

    const short = await suite.gateway.createOrg({ credits: TIER0_COST - 1n });
    const refused = await call(short.apiKey.key);
    expect(refused.error?.code).toBe(-32004);
    expect(refused.error?.data).toMatchObject({ reason: 'insufficient_credits', required: '1000', available: '999' });
    expect(await accountOf(suite.gateway, short.orgId)).toEqual({ balance: TIER0_COST - 1n, reserved: 0n });
    expect(await ledgerOf(suite.gateway, short.orgId)).toEqual([]);
  });

  it('credit reserved by a call in flight counts: what is left above it is the boundary', async () => {
    const org = await suite.gateway.createOrg({ credits: HELD_COST + TIER0_COST });
    await holdTask(suite.gateway, { org, cost: HELD_COST, owner: 'elsewhere', deadlineMs: -1_000 });
    expect((await call(org.apiKey.key)).result?.task.status.state).toBe('TASK_STATE_COMPLETED');
    const refused = await call(org.apiKey.key);
    expect(refused.error?.data).toMatchObject({ reason: 'insufficient_credits', available: '0' });
    // the call in flight was abandoned: its hold goes back, and only the paid call was spent
    expect(await releaseAbandonedTasks(suite.gateway.database.db)).toBe(1);
    expect(await accountOf(suite.gateway, org.orgId)).toEqual({ balance: HELD_COST, reserved: 0n });
  });
});

describe('holds swept and grants made by the operator', () => {
  const suite = useSeededGateway({ demoData: false });

  it('a sweep releases every abandoned hold, more than one batch of them, each once', async () => {
    const org = await suite.gateway.createOrg({ credits: 1_000_000n });
    const abandoned = 201;
    for (let i = 0; i < abandoned; i += 1) {
      await holdTask(suite.gateway, { org, cost: 1n, owner: 'gone', deadlineMs: -1_000, until: sql`now()` });
    }
    expect(await accountOf(suite.gateway, org.orgId)).toEqual({ balance: 1_000_000n, reserved: BigInt(abandoned) });
    expect(await releaseAbandonedTasks(suite.gateway.database.db)).toBe(abandoned);
    expect(await releaseAbandonedTasks(suite.gateway.database.db)).toBe(0);
    expect(await accountOf(suite.gateway, org.orgId)).toEqual({ balance: 1_000_000n, reserved: 0n });
  });

  it('a grant must be positive, and answers the account as it is after it, holds included', async () => {
    const org = await suite.gateway.createOrg({ credits: 0n });
    for (const amount of [0n, -5n]) {
      // The message is what the admin CLI prints to the operator.
      await expect(grantCredits(suite.gateway.database.db, { orgId: org.orgId, amount, reason: 'nothing', by: OPERATOR })).rejects.toThrow(
        new RangeError('a grant must be a positive amount of micro-USDC'),
      );
    }
    expect(await ledgerOf(suite.gateway, org.orgId)).toEqual([]);
    await grantCredits(suite.gateway.database.db, { orgId: org.orgId, amount: HELD_COST, reason: 'first', by: OPERATOR });
    await holdTask(suite.gateway, { org, cost: HELD_COST, owner: 'gone', deadlineMs: -1_000, until: sql`now()` });
    const after = await grantCredits(suite.gateway.database.db, { orgId: org.orgId, amount: 7n, reason: 'second', by: OPERATOR });
    expect(after).toEqual({ orgId: org.orgId, balance: HELD_COST + 7n, reserved: HELD_COST, available: 7n });
    expect(await releaseAbandonedTasks(suite.gateway.database.db)).toBe(1);
  });

  it('a grant to an organization without an account is refused by name and writes nothing; opening an account twice keeps it', async () => {
    const withoutAccount = randomUUID();
    const refused = grantCredits(suite.gateway.database.db, { orgId: withoutAccount, amount: 5n, reason: 'lost', by: OPERATOR });
    await expect(refused).rejects.toThrow(NoCreditAccountError);
    await expect(refused).rejects.toMatchObject({
      name: 'NoCreditAccountError',
      message: `organization ${withoutAccount} has no credit account`,
      orgId: withoutAccount,
    });
    expect(await getCreditAccount(suite.gateway.database.db, withoutAccount)).toBeUndefined();
    const [written] = await suite.gateway.database.db.rows(
      z.object({ n: z.bigint() }),
      sql`select count(*) as n from ledger_entries where org_id = ${withoutAccount}`,
    );
    expect(written?.n).toBe(0n);

    const org = await suite.gateway.createOrg({ credits: 30n });
    await openCreditAccount(suite.gateway.database.db, org.orgId);
    expect(await getCreditAccount(suite.gateway.database.db, org.orgId)).toEqual({
      orgId: org.orgId,
      balance: 30n,
      reserved: 0n,
      available: 30n,
    });
  });
});
