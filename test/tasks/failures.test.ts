import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { getCreditAccount } from '../../src/billing/accounts.js';
import { seedDemoData } from '../../src/db/demo-data.js';
import { checkLedgerAfterEach, type SettlementMode, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { needs } from '../helpers/requirements.js';
import { useSeededGateway } from '../helpers/seeded-gateway.js';

/**
 * Failure paths of paid calls, on whichever database the run uses: whatever goes wrong, the
 * caller pays nothing, no hold is left behind, and the ledger still explains every balance.
 * Failures are real (a missing table, a locked table, an unknown agent), not mocked.
 */

const START_CREDITS = 1_000_000n;
const TIER0 = 1_000n;
const TIER1 = 10_000n;

interface RpcAnswer {
  jsonrpc: '2.0';
  id: unknown;
  result?: { task?: WireTask } & Partial<WireTask>;
  error?: { code: number; message: string; data?: Record<string, unknown> };
}

interface WireTask {
  id: string;
  contextId: string;
  status: {
    state: string;
    message?: { parts: Array<{ text?: string; data?: unknown }> };
  };
  metadata: { cost_micro_usdc: string; charged: boolean; tool?: string; duration_ms?: number };
}

const ledgerRow = z.object({
  kind: z.string(),
  amount: z.bigint(),
  reservedDelta: z.bigint(),
  taskId: z.string().nullable(),
  reason: z.string().nullable(),
});
type LedgerRow = z.infer<typeof ledgerRow>;

function toolMessage(tool: string, args: Record<string, unknown>, extra: { messageId?: string; taskId?: string } = {}) {
  return {
    messageId: extra.messageId ?? randomUUID(),
    role: 'ROLE_USER',
    ...(extra.taskId ? { taskId: extra.taskId } : {}),
    parts: [{ data: { tool, arguments: args } }],
  };
}

function textMessage(text: string, extra: { messageId?: string; taskId?: string } = {}) {
  return {
    messageId: extra.messageId ?? randomUUID(),
    role: 'ROLE_USER',
    ...(extra.taskId ? { taskId: extra.taskId } : {}),
    parts: [{ text }],
  };
}

async function call(gateway: TestGateway, apiKey: string, method: string, params: unknown): Promise<RpcAnswer> {
  const response = await gateway.rpc({ jsonrpc: '2.0', id: 1, method, params }, apiKey);
  expect(response.status).toBe(200);
  return (await response.json()) as RpcAnswer;
}

async function send(gateway: TestGateway, apiKey: string, message: unknown): Promise<RpcAnswer> {
  return call(gateway, apiKey, 'SendMessage', { message });
}

function sentTask(answer: RpcAnswer): WireTask {
  expect(answer.error).toBeUndefined();
  const task = answer.result?.task;
  expect(task).toBeDefined();
  return task as WireTask;
}

function statusText(task: WireTask): string {
  return (task.status.message?.parts ?? []).map((part) => part.text ?? '').join('\n');
}

function statusError(task: WireTask): Record<string, unknown> | undefined {
  const part = task.status.message?.parts.find((p) => p.data !== undefined);
  return (part?.data as { error?: Record<string, unknown> } | undefined)?.error;
}

async function ledger(gateway: TestGateway, orgId: string): Promise<LedgerRow[]> {
  return gateway.database.db.rows(
    ledgerRow,
    sql`
    select kind::text as kind, amount, reserved_delta as "reservedDelta", task_id::text as "taskId", reason
      from ledger_entries where org_id = ${orgId} order by id`,
  );
}

async function taskLedger(gateway: TestGateway, orgId: string, taskId: string): Promise<LedgerRow[]> {
  return (await ledger(gateway, orgId)).filter((row) => row.taskId === taskId);
}

async function account(gateway: TestGateway, orgId: string) {
  const found = await getCreditAccount(gateway.database.db, orgId);
  expect(found).toBeDefined();
  return found as NonNullable<typeof found>;
}

/** The account and ledger of an org that was granted START_CREDITS and never charged. */
async function expectUntouched(gateway: TestGateway, orgId: string): Promise<void> {
  const after = await account(gateway, orgId);
  expect(after.balance).toBe(START_CREDITS);
  expect(after.reserved).toBe(0n);
  expect((await ledger(gateway, orgId)).filter((row) => row.kind === 'capture' || row.kind === 'charge')).toEqual([]);
}

/** A new call to a Tier 0/1 tool is charged in one step, or reserved then captured when held. */
const paidKinds = (settlement: SettlementMode) => (settlement === 'hold' ? ['reserve', 'capture'] : ['charge']);

/**
 * The ledger of a task whose call ended without an answer: nothing at all for an instant call
 * (no money ever moved), a reserve and its release for a held one.
 */
function expectNoMoneyMoved(rows: LedgerRow[], settlement: SettlementMode, task: { id: string; cost: bigint; reason: string }) {
  if (settlement === 'hold') expectReservedThenReleased(rows, task.id, task.cost, task.reason);
  else expect(rows).toEqual([]);
}

/** The ledger of a task whose hold was placed and then given back: a reserve, a release, no capture. */
function expectReservedThenReleased(rows: LedgerRow[], taskId: string, cost: bigint, reason: string): void {
  expect(rows.map((row) => row.kind)).toEqual(['reserve', 'release']);
  expect(rows[0]).toMatchObject({ kind: 'reserve', amount: 0n, reservedDelta: cost, taskId });
  expect(rows[1]).toMatchObject({ kind: 'release', amount: 0n, reservedDelta: -cost, taskId, reason });
}

describe.each(['by-tool', 'hold'] as const)('failed, timed-out and canceled tasks cost nothing (settlement %s)', (settlement) => {
  const suite = useSeededGateway({ gateway: { settlement } });

  it('an executor that throws leaves the task failed, uncharged, its hold released; a replay does not re-run it', async () => {
    const org = await suite.gateway.createOrg({ credits: START_CREDITS });
    const message = toolMessage('getValidationHistory', { agentId: 1 });
    const db = suite.gateway.database.db;

    await db.run(sql`alter table validations rename to validations_gone`);
    let task: WireTask;
    let elapsedMs: number;
    try {
      const started = performance.now();
      task = sentTask(await send(suite.gateway, org.apiKey.key, message));
      elapsedMs = performance.now() - started;
    } finally {
      await db.run(sql`alter table validations_gone rename to validations`);
    }

    expect(task.status.state).toBe('TASK_STATE_FAILED');
    expect(statusText(task)).toMatch(/nothing was charged/);
    expect(statusError(task)).toMatchObject({ reason: 'tool_failed' });
    expect(task.metadata.charged).toBe(false);
    // the failed run's recorded duration (usage reports it) is its own time, within the call's
    expect(task.metadata.duration_ms).toBeGreaterThanOrEqual(0);
    expect(task.metadata.duration_ms).toBeLessThanOrEqual(Math.ceil(elapsedMs));
    await expectUntouched(suite.gateway, org.orgId);
    expectNoMoneyMoved(await taskLedger(suite.gateway, org.orgId, task.id), settlement, {
      id: task.id,
      cost: TIER1,
      reason: 'tool_failed',
    });

    // The table is back, so a re-run would now succeed and charge: the replay must not re-run.
    const replay = sentTask(await send(suite.gateway, org.apiKey.key, message));
    expect(replay.id).toBe(task.id);
    expect(replay.status.state).toBe('TASK_STATE_FAILED');
    expect(replay.metadata.charged).toBe(false);
    await expectUntouched(suite.gateway, org.orgId);
    // the grant, and for a held call one reserve and one release
    expect(await ledger(suite.gateway, org.orgId)).toHaveLength(settlement === 'hold' ? 3 : 1);
    const [count] = await db.rows(z.object({ n: z.bigint() }), sql`select count(*)::int8 as n from tasks where org_id = ${org.orgId}`);
    expect(count?.n).toBe(1n);

    const fetched = await call(suite.gateway, org.apiKey.key, 'GetTask', { id: task.id });
    expect(fetched.result?.status?.state).toBe('TASK_STATE_FAILED');

    // Control: the same call under a new messageId runs again, and now it succeeds and is charged.
    const fresh = sentTask(await send(suite.gateway, org.apiKey.key, toolMessage('getValidationHistory', { agentId: 1 })));
    expect(fresh.status.state).toBe('TASK_STATE_COMPLETED');
    expect((await account(suite.gateway, org.orgId)).balance).toBe(START_CREDITS - TIER1);
  });

  it('an unknown agent is -32602 agent_not_found and costs nothing', async () => {
    const org = await suite.gateway.createOrg({ credits: START_CREDITS });
    const message = toolMessage('getAgentProfile', { agentId: 999_999 });

    const answer = await send(suite.gateway, org.apiKey.key, message);
    expect(answer.result).toBeUndefined();
    expect(answer.error?.code).toBe(-32602);
    expect(answer.error?.data).toMatchObject({ reason: 'agent_not_found', agentId: '999999' });
    const taskId = answer.error?.data?.taskId as string;
    expect(taskId).toEqual(expect.any(String));

    await expectUntouched(suite.gateway, org.orgId);
    expectNoMoneyMoved(await taskLedger(suite.gateway, org.orgId, taskId), settlement, {
      id: taskId,
      cost: TIER0,
      reason: 'agent_not_found',
    });
    const fetched = await call(suite.gateway, org.apiKey.key, 'GetTask', { id: taskId });
    expect(fetched.result?.status?.state).toBe('TASK_STATE_FAILED');
    expect(fetched.result?.metadata?.charged).toBe(false);

    // Sent again, it is not run or charged a second time.
    await send(suite.gateway, org.apiKey.key, message);
    await expectUntouched(suite.gateway, org.orgId);
    expect(await ledger(suite.gateway, org.orgId)).toHaveLength(settlement === 'hold' ? 3 : 1);
  });

  it('canceling a task waiting for input: canceled, cost 0, no ledger rows; a tool call on it afterwards is refused', async () => {
    const org = await suite.gateway.createOrg({ credits: START_CREDITS });

    const waiting = sentTask(await send(suite.gateway, org.apiKey.key, textMessage('what do you sell?')));
    expect(waiting.status.state).toBe('TASK_STATE_INPUT_REQUIRED');

    const canceled = await call(suite.gateway, org.apiKey.key, 'CancelTask', { id: waiting.id });
    expect(canceled.error).toBeUndefined();
    expect(canceled.result?.id).toBe(waiting.id);
    expect(canceled.result?.status?.state).toBe('TASK_STATE_CANCELED');
    expect(canceled.result?.metadata).toMatchObject({ cost_micro_usdc: '0', charged: false });
    await expectUntouched(suite.gateway, org.orgId);
    expect(await taskLedger(suite.gateway, org.orgId, waiting.id)).toEqual([]);

    const followUp = await send(suite.gateway, org.apiKey.key, toolMessage('getAgentProfile', { agentId: 1 }, { taskId: waiting.id }));
    expect(followUp.result).toBeUndefined();
    expect(followUp.error?.code).toBe(-32004);
    expect(followUp.error?.data).toMatchObject({ reason: 'task_not_accepting_input', taskId: waiting.id, state: 'canceled' });
    await expectUntouched(suite.gateway, org.orgId);
    expect(await ledger(suite.gateway, org.orgId)).toHaveLength(1); // the grant only

    const again = await call(suite.gateway, org.apiKey.key, 'CancelTask', { id: waiting.id });
    expect(again.error?.code).toBe(-32002);
    const fetched = await call(suite.gateway, org.apiKey.key, 'GetTask', { id: waiting.id });
    expect(fetched.result?.status?.state).toBe('TASK_STATE_CANCELED');
  });

  it('a tool call on a task still waiting for input runs, is charged once, and its replay is free', async () => {
    const org = await suite.gateway.createOrg({ credits: START_CREDITS });
    const waiting = sentTask(await send(suite.gateway, org.apiKey.key, textMessage('hello')));
    expect(waiting.status.state).toBe('TASK_STATE_INPUT_REQUIRED');

    const followUp = toolMessage('getAgentProfile', { agentId: 1 }, { taskId: waiting.id });
    const done = sentTask(await send(suite.gateway, org.apiKey.key, followUp));
    expect(done.id).toBe(waiting.id);
    expect(done.status.state).toBe('TASK_STATE_COMPLETED');
    expect(done.metadata).toMatchObject({ cost_micro_usdc: String(TIER0), charged: true });

    const replay = sentTask(await send(suite.gateway, org.apiKey.key, followUp));
    expect(replay.id).toBe(waiting.id);
    expect(replay.status.state).toBe('TASK_STATE_COMPLETED');
    const after = await account(suite.gateway, org.orgId);
    expect(after.balance).toBe(START_CREDITS - TIER0);
    expect(after.reserved).toBe(0n);
    expect((await taskLedger(suite.gateway, org.orgId, waiting.id)).map((row) => row.kind)).toEqual(['reserve', 'capture']);
  });

  it('canceling a completed task is -32002 and refunds nothing', async () => {
    const org = await suite.gateway.createOrg({ credits: START_CREDITS });
    const done = sentTask(await send(suite.gateway, org.apiKey.key, toolMessage('getAgentProfile', { agentId: 1 })));
    expect(done.status.state).toBe('TASK_STATE_COMPLETED');
    const before = await account(suite.gateway, org.orgId);
    expect(before.balance).toBe(START_CREDITS - TIER0);
    const ledgerBefore = await ledger(suite.gateway, org.orgId);

    const answer = await call(suite.gateway, org.apiKey.key, 'CancelTask', { id: done.id });
    expect(answer.result).toBeUndefined();
    expect(answer.error?.code).toBe(-32002);
    expect(answer.error?.data).toMatchObject({ taskId: done.id, state: 'completed' });

    expect(await account(suite.gateway, org.orgId)).toEqual(before);
    expect(await ledger(suite.gateway, org.orgId)).toEqual(ledgerBefore);
    expect((await taskLedger(suite.gateway, org.orgId, done.id)).map((row) => row.kind)).toEqual(paidKinds(settlement));
    const fetched = await call(suite.gateway, org.apiKey.key, 'GetTask', { id: done.id });
    expect(fetched.result?.status?.state).toBe('TASK_STATE_COMPLETED');
    expect(fetched.result?.metadata?.charged).toBe(true);
  });

  it('a tool call on a failed task is refused with task_not_accepting_input and costs nothing', async () => {
    const org = await suite.gateway.createOrg({ credits: START_CREDITS });
    const failed = await send(suite.gateway, org.apiKey.key, toolMessage('getAgentProfile', { agentId: 888_888 }));
    const taskId = failed.error?.data?.taskId as string;
    expect(failed.error?.data?.reason).toBe('agent_not_found');

    const followUp = await send(suite.gateway, org.apiKey.key, toolMessage('getAgentProfile', { agentId: 1 }, { taskId }));
    expect(followUp.error?.code).toBe(-32004);
    expect(followUp.error?.data).toMatchObject({ reason: 'task_not_accepting_input', state: 'failed' });
    await expectUntouched(suite.gateway, org.orgId);
    expectNoMoneyMoved(await taskLedger(suite.gateway, org.orgId, taskId), settlement, {
      id: taskId,
      cost: TIER0,
      reason: 'agent_not_found',
    });
  });

  it('a batch of paid calls worth more than the balance: the affordable ones complete, the rest are refused, none overdraws', async () => {
    const org = await suite.gateway.createOrg({ credits: 4n * TIER0 + 500n });
    const batch = Array.from({ length: 10 }, (_, i) => ({
      jsonrpc: '2.0',
      id: i,
      method: 'SendMessage',
      params: { message: toolMessage('getAgentProfile', { agentId: i + 1 }) },
    }));
    const response = await suite.gateway.rpc(batch, org.apiKey.key);
    expect(response.status).toBe(200);
    const answers = (await response.json()) as RpcAnswer[];
    expect(answers).toHaveLength(10);
    const completed = answers.filter((answer) => answer.result?.task?.status.state === 'TASK_STATE_COMPLETED');
    const refused = answers.filter((answer) => answer.error !== undefined);
    expect(completed).toHaveLength(4);
    expect(refused).toHaveLength(6);
    for (const answer of refused) {
      expect(answer.error?.code).toBe(-32004);
      expect(answer.error?.data).toMatchObject({ reason: 'insufficient_credits', required: '1000' });
    }
    const after = await account(suite.gateway, org.orgId);
    expect(after.balance).toBe(500n);
    expect(after.reserved).toBe(0n);
    const kinds = (await ledger(suite.gateway, org.orgId)).map((row) => row.kind).filter((kind) => kind !== 'grant');
    expect(kinds.sort()).toEqual(
      Array.from({ length: 4 }, () => paidKinds(settlement))
        .flat()
        .sort(),
    );
  });

  it('another organization can neither see, cancel nor continue a task, and the same messageId is its own task', async () => {
    const owner = await suite.gateway.createOrg({ credits: START_CREDITS });
    const other = await suite.gateway.createOrg({ credits: START_CREDITS });
    const paid = toolMessage('getAgentProfile', { agentId: 1 });
    const done = sentTask(await send(suite.gateway, owner.apiKey.key, paid));
    const waiting = sentTask(await send(suite.gateway, owner.apiKey.key, textMessage('hi')));

    expect((await call(suite.gateway, other.apiKey.key, 'GetTask', { id: done.id })).error?.code).toBe(-32001);
    expect((await call(suite.gateway, other.apiKey.key, 'CancelTask', { id: waiting.id })).error?.code).toBe(-32001);
    const hijack = await send(suite.gateway, other.apiKey.key, toolMessage('getAgentProfile', { agentId: 1 }, { taskId: waiting.id }));
    expect(hijack.error?.code).toBe(-32001);
    await expectUntouched(suite.gateway, other.orgId);
    expect((await call(suite.gateway, owner.apiKey.key, 'GetTask', { id: waiting.id })).result?.status?.state).toBe(
      'TASK_STATE_INPUT_REQUIRED',
    );

    // The same messageId from another organization is another task, charged to that organization.
    const theirs = sentTask(await send(suite.gateway, other.apiKey.key, paid));
    expect(theirs.id).not.toBe(done.id);
    expect(theirs.status.state).toBe('TASK_STATE_COMPLETED');
    expect((await account(suite.gateway, owner.orgId)).balance).toBe(START_CREDITS - TIER0);
    expect((await account(suite.gateway, other.orgId)).balance).toBe(START_CREDITS - TIER0);
  });
});

/** Holds `lock table agents in access exclusive mode` in a second session until `unlock()`. */
/** Waits until no statement but this one runs on the gateway's database: the late work has ended. */
async function untilNoOtherQueryRuns(gateway: TestGateway): Promise<void> {
  for (let waited = 0; ; waited += 1) {
    const [running] = await gateway.database.db.rows(
      z.object({ n: z.number() }),
      sql`
      select count(*)::int as n from pg_stat_activity
       where datname = current_database() and pid <> pg_backend_pid() and state = 'active'`,
    );
    if (running?.n === 0) return;
    if (waited > 500) throw new Error('a query of the timed-out tool is still running');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function lockAgentsTable(url: string): Promise<{ unlock: () => Promise<void> }> {
  const locker = postgres(url, { max: 1, onnotice: () => {} });
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let locked!: () => void;
  const isLocked = new Promise<void>((resolve) => {
    locked = resolve;
  });
  const holding = locker.begin(async (tx) => {
    await tx`lock table agents in access exclusive mode`;
    locked();
    await released;
  });
  await Promise.race([isLocked, holding]);
  return {
    unlock: async () => {
      release();
      await holding;
      await locker.end({ timeout: 5 });
    },
  };
}

describe(
  'a tool stuck on a locked table: timeout and cancel cost nothing (PostgreSQL only: needs a second session to hold the lock)',
  needs('postgres'),
  () => {
    const TIMEOUT_MS = 300;
    /** time tools out after TIMEOUT_MS, one per settlement */
    const fast = new Map<SettlementMode, TestGateway>();
    /** holds every call and gives tools 10 s, so a stuck task stays working long enough to be canceled */
    let slow: TestGateway;
    const all = () => [...fast.values(), slow];

    beforeAll(async () => {
      const [byTool, hold] = await Promise.all([
        startTestGateway({ toolTimeoutMs: TIMEOUT_MS, settlement: 'by-tool' }),
        startTestGateway({ toolTimeoutMs: TIMEOUT_MS, settlement: 'hold' }),
      ]);
      fast.set('by-tool', byTool).set('hold', hold);
      slow = await startTestGateway({ settlement: 'hold' });
      for (const gateway of all()) await seedDemoData(gateway.database.db, { now: new Date() });
    });

    afterAll(async () => {
      for (const gateway of all()) await gateway?.close();
    });

    checkLedgerAfterEach(all);

    it.each(['by-tool', 'hold'] as const)(
      'times out while the agents table is locked, moves no money, and a late result does not charge (settlement %s)',
      async (settlement) => {
        const gateway = fast.get(settlement) as TestGateway;
        const org = await gateway.createOrg({ credits: START_CREDITS });
        const lock = await lockAgentsTable(gateway.database.url as string);

        let task: WireTask;
        const started = Date.now();
        try {
          task = sentTask(await send(gateway, org.apiKey.key, toolMessage('getAgentProfile', { agentId: 1 })));
        } finally {
          await lock.unlock();
        }
        const elapsed = Date.now() - started;
        expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 20);
        expect(elapsed).toBeLessThan(10_000);

        expect(task.status.state).toBe('TASK_STATE_FAILED');
        expect(statusError(task)).toMatchObject({ reason: 'timeout' });
        expect(statusText(task)).toMatch(/nothing was charged/);
        expect(task.metadata.charged).toBe(false);

        // The executor's query runs once the lock is gone; its late answer must change nothing.
        await untilNoOtherQueryRuns(gateway);
        const fetched = await call(gateway, org.apiKey.key, 'GetTask', { id: task.id });
        expect(fetched.result?.status?.state).toBe('TASK_STATE_FAILED');
        await expectUntouched(gateway, org.orgId);
        expectNoMoneyMoved(await taskLedger(gateway, org.orgId, task.id), settlement, { id: task.id, cost: TIER0, reason: 'timeout' });

        // Control: with the lock gone the same tool answers in time and is charged.
        const ok = sentTask(await send(gateway, org.apiKey.key, toolMessage('getAgentProfile', { agentId: 1 })));
        expect(ok.status.state).toBe('TASK_STATE_COMPLETED');
        expect((await account(gateway, org.orgId)).balance).toBe(START_CREDITS - TIER0);
      },
    );

    it('canceling a held working task releases its hold at once, and the tool finishing later charges nothing', async () => {
      const gateway = slow;
      const org = await gateway.createOrg({ credits: START_CREDITS });
      const lock = await lockAgentsTable(gateway.database.url as string);
      let pending: Promise<RpcAnswer> | undefined;
      try {
        pending = send(gateway, org.apiKey.key, toolMessage('getAgentProfile', { agentId: 2 }));
        let working: { id: string } | undefined;
        for (let attempt = 0; attempt < 200 && !working; attempt += 1) {
          [working] = await gateway.database.db.rows(
            z.object({ id: z.string() }),
            sql`select id::text from tasks where org_id = ${org.orgId} and state = 'working'`,
          );
          if (!working) await new Promise((resolve) => setTimeout(resolve, 10));
        }
        expect(working).toBeDefined();
        const taskId = (working as { id: string }).id;
        const during = await account(gateway, org.orgId);
        expect(during.reserved).toBe(TIER0);

        const canceled = await call(gateway, org.apiKey.key, 'CancelTask', { id: taskId });
        expect(canceled.error).toBeUndefined();
        expect(canceled.result?.status?.state).toBe('TASK_STATE_CANCELED');
        expect(canceled.result?.metadata?.charged).toBe(false);
        await expectUntouched(gateway, org.orgId);
        expectReservedThenReleased(await taskLedger(gateway, org.orgId, taskId), taskId, TIER0, 'canceled');
      } finally {
        await lock.unlock();
      }

      // The tool now answers; the caller is told the task was canceled, and nothing is captured.
      const late = sentTask(await (pending as Promise<RpcAnswer>));
      expect(late.status.state).toBe('TASK_STATE_CANCELED');
      expect(late.metadata.charged).toBe(false);
      await expectUntouched(gateway, org.orgId);
      expect((await taskLedger(gateway, org.orgId, late.id)).map((row) => row.kind)).toEqual(['reserve', 'release']);
    });
  },
);
