import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { reserveWith, settleWith } from '../../src/billing/holds.js';
import { seedDemoData } from '../../src/db/demo-data.js';
import { createChargeCombiner } from '../../src/tasks/charge-combiner.js';
import { createLeases } from '../../src/tasks/leases.js';
import { completeWorkingTask, insertWorkingTaskFromHold, type TaskRow } from '../../src/tasks/store.js';
import { takeOverLapsedTasks } from '../../src/tasks/worker.js';
import { chatCompletions } from '../../src/tools/llm.js';
import { createToolRegistry } from '../../src/tools/registry.js';
import { account, call, expectResult, expectRpcError, ledger, request, toolCall, v03Data, v03Send, v1Data, v1Send } from '../a2a/support.js';
import { startFakeLlm, type FakeLlm } from '../helpers/fake-llm.js';
import { expectLedgerInvariant, startTestGateway, type TestGateway } from '../helpers/gateway.js';

const REPORT_COST = 200_000n;
const CREDITS = 10_000_000n;
const quietLog = pino({ level: 'silent' });

describe('held calls that run in the background, followed and cancelled', () => {
  let llm: FakeLlm;
  let gateway: TestGateway;
  let key: string;
  let orgId: string;

  beforeAll(async () => {
    llm = await startFakeLlm();
    gateway = await startTestGateway({ llm: { baseUrl: llm.baseUrl, timeoutMs: 5_000 }, leaseMs: 600 });
    await seedDemoData(gateway.database.db, { now: new Date(), agents: 2, feedbacksPerAgent: 5, validationsPerAgent: 2 });
  });
  afterAll(async () => {
    await gateway?.close();
    await llm?.close();
  });
  beforeEach(async () => {
    const org = await gateway.createOrg({ credits: CREDITS });
    key = org.apiKey.key;
    orgId = org.orgId;
    llm.requests.length = 0;
    llm.otherwise = 'report';
  });

  const report = (configuration?: Record<string, unknown>) =>
    request('SendMessage', { ...v1Send([v1Data(toolCall('getReputationReport', { agentId: 1 }))]), ...(configuration ? { configuration } : {}) });
  const getTask = async (id: string) => expectResult(await call(gateway, request('GetTask', { id }), key));

  async function until(id: string, state: string): Promise<any> {
    const deadline = Date.now() + 5_000;
    for (;;) {
      const task = await getTask(id);
      if (task.status.state === state || Date.now() > deadline) return task;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('a send that asks not to block answers WORKING at once; GetTask follows it to COMPLETED, charged once', async () => {
    llm.script('wait');
    const accepted = expectResult(await call(gateway, report({ returnImmediately: true }), key)).task;
    expect(accepted.status.state).toBe('TASK_STATE_WORKING');
    await llm.received(1);
    expect((await getTask(accepted.id)).status.state).toBe('TASK_STATE_WORKING');
    expect(await account(gateway, orgId)).toEqual({ balance: CREDITS, reserved: REPORT_COST });

    llm.release();
    const done = await until(accepted.id, 'TASK_STATE_COMPLETED');
    expect(done.status.state).toBe('TASK_STATE_COMPLETED');
    expect(done.artifacts[0].parts[0].data.overall_rating).toBe('B+');
    expect(await account(gateway, orgId)).toEqual({ balance: CREDITS - REPORT_COST, reserved: 0n });
    await expectLedgerInvariant(gateway);
  });

  it('A2A 0.3 blocking: false does the same', async () => {
    llm.script('wait');
    const body = request('message/send', { ...v03Send([v03Data(toolCall('getReputationReport', { agentId: 1 }))]), configuration: { blocking: false } });
    const accepted = expectResult(await call(gateway, body, key));
    expect(accepted.status.state).toBe('working');
    await llm.received(1);
    llm.release();
    expect((await until(accepted.id, 'TASK_STATE_COMPLETED')).status.state).toBe('TASK_STATE_COMPLETED');
  });

  it('cancel mid-run stops the tool (its LLM request is dropped), ends CANCELED and charges nothing; a second cancel is -32002', async () => {
    llm.script('wait');
    const accepted = expectResult(await call(gateway, report({ returnImmediately: true }), key)).task;
    await llm.received(1);
    const canceled = expectResult(await call(gateway, request('CancelTask', { id: accepted.id }), key));
    expect(canceled.status.state).toBe('TASK_STATE_CANCELED');
    const deadline = Date.now() + 2_000;
    while (llm.abandoned === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(llm.abandoned).toBe(1);

    llm.release();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await getTask(accepted.id)).status.state).toBe('TASK_STATE_CANCELED');
    expect(await account(gateway, orgId)).toEqual({ balance: CREDITS, reserved: 0n });
    expect((await ledger(gateway, orgId)).map((row) => row.kind)).toEqual(['grant', 'reserve', 'release']);
    expectRpcError(await call(gateway, request('CancelTask', { id: accepted.id }), key), -32002);
    await expectLedgerInvariant(gateway);
  });

  it('a blocking send whose task is cancelled from another request answers CANCELED', async () => {
    llm.script('wait');
    const sending = call(gateway, report(), key);
    await llm.received(1);
    const [working] = await gateway.database.db.rows<{ id: string }>(sql`select id from tasks where org_id = ${orgId} and state = 'working'`);
    expectResult(await call(gateway, request('CancelTask', { id: working!.id }), key));
    const answered = expectResult(await sending).task;
    expect(answered.status.state).toBe('TASK_STATE_CANCELED');
    expect((await account(gateway, orgId))?.balance).toBe(CREDITS);
  });

  it('a task whose instance died is taken over once its lease lapses, and completes once', async () => {
    const id = randomUUID();
    const [stranded] = await gateway.database.db.rows<TaskRow>(
      reserveWith({
        orgId,
        cost: REPORT_COST,
        taskWrite: insertWorkingTaskFromHold(
          {
            id,
            contextId: randomUUID(),
            messageId: `m-${id}`,
            tool: 'getReputationReport',
            arguments: { agentId: 1 },
            cost: REPORT_COST,
            history: [],
            deadlineMs: 60_000,
          },
          { owner: 'a-dead-instance', until: sql`now() - interval '1 second'` },
        ),
      }),
    );
    expect(stranded?.state).toBe('working');

    const leases = createLeases({ db: gateway.database.db, log: quietLog, leaseMs: 600 });
    const worker = {
      db: gateway.database.db,
      log: quietLog,
      tools: createToolRegistry({ llm: { complete: chatCompletions({ baseUrl: llm.baseUrl, model: 'test-model', apiKey: undefined }), timeoutMs: 5_000 } }),
      leases,
      charges: createChargeCombiner(gateway.database.db),
      settlement: 'by-tool' as const,
      toolTimeoutMs: 5_000,
      taskDeadlineSlackMs: 30_000,
    };
    const [first, second] = await Promise.all([takeOverLapsedTasks(worker, 4), takeOverLapsedTasks(worker, 4)]);
    expect(first + second).toBe(1);
    await leases.idle(5_000);
    expect((await getTask(id)).status.state).toBe('TASK_STATE_COMPLETED');

    // The dead instance waking up cannot settle it a second time.
    const late = await gateway.database.db.rows(settleWith('capture', completeWorkingTask(id, 'a-dead-instance', { late: true }, 1)));
    expect(late).toEqual([]);
    expect((await ledger(gateway, orgId)).filter((row) => row.kind === 'capture')).toHaveLength(1);
    expect(await account(gateway, orgId)).toEqual({ balance: CREDITS - REPORT_COST, reserved: 0n });
    await expectLedgerInvariant(gateway);
  });
});
