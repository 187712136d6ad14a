import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { reserveWith, settleWith } from '../../src/billing/holds.js';
import { spendPeriodsAt } from '../../src/billing/spend-caps.js';
import { UNOBSERVED } from '../../src/domain/observer.js';
import { createChargeCombiner } from '../../src/tasks/charge-combiner.js';
import { createLeases } from '../../src/tasks/leases.js';
import { completeWorkingTask, insertWorkingTaskFromHold } from '../../src/tasks/store.js';
import { takeOverLapsedTasks } from '../../src/tasks/worker.js';
import { chatCompletions } from '../../src/tools/llm.js';
import { createToolRegistry } from '../../src/tools/registry.js';
import {
  account,
  call,
  expectResult,
  expectRpcError,
  ledger,
  request,
  toolCall,
  v1Data,
  v1Send,
  v03Data,
  v03Send,
} from '../a2a/support.js';
import { BUILT_IN_VERSION, expectLedgerInvariant } from '../helpers/gateway.js';
import { useLlmGateway } from '../helpers/llm-suite.js';

const REPORT_COST = 200_000n;
const CREDITS = 10_000_000n;
const quietLog = pino({ level: 'silent' });
/** What these tests read of a task a hold or a settlement wrote. */
const writtenTask = z.object({ id: z.string(), state: z.string() });

describe('held calls that run in the background, followed and cancelled', () => {
  const suite = useLlmGateway({
    credits: CREDITS,
    llmTimeoutMs: 5_000,
    leaseMs: 600,
    dataset: { agents: 2, feedbacksPerAgent: 5, validationsPerAgent: 2 },
  });

  const report = (configuration?: Record<string, unknown>) =>
    request('SendMessage', {
      ...v1Send([v1Data(toolCall('getReputationReport', { agentId: 1 }))]),
      ...(configuration ? { configuration } : {}),
    });
  const getTask = async (id: string) => expectResult(await call(suite.gateway, request('GetTask', { id }), suite.key));

  async function until(id: string, state: string): Promise<any> {
    const deadline = Date.now() + 5_000;
    for (;;) {
      const task = await getTask(id);
      if (task.status.state === state || Date.now() > deadline) return task;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('a send that asks not to block answers WORKING at once; GetTask follows it to COMPLETED, charged once', async () => {
    suite.llm.script('wait');
    const accepted = expectResult(await call(suite.gateway, report({ returnImmediately: true }), suite.key)).task;
    expect(accepted.status.state).toBe('TASK_STATE_WORKING');
    await suite.llm.received(1);
    expect((await getTask(accepted.id)).status.state).toBe('TASK_STATE_WORKING');
    expect(await account(suite.gateway, suite.orgId)).toEqual({ balance: CREDITS, reserved: REPORT_COST });

    suite.llm.release();
    const done = await until(accepted.id, 'TASK_STATE_COMPLETED');
    expect(done.status.state).toBe('TASK_STATE_COMPLETED');
    expect(done.artifacts[0].parts[0].data.overall_rating).toBe('B+');
    expect(await account(suite.gateway, suite.orgId)).toEqual({ balance: CREDITS - REPORT_COST, reserved: 0n });
    await expectLedgerInvariant(suite.gateway);
  });

  it('A2A 0.3 blocking: false does the same', async () => {
    suite.llm.script('wait');
    const body = request('message/send', {
      ...v03Send([v03Data(toolCall('getReputationReport', { agentId: 1 }))]),
      configuration: { blocking: false },
    });
    const accepted = expectResult(await call(suite.gateway, body, suite.key));
    expect(accepted.status.state).toBe('working');
    await suite.llm.received(1);
    suite.llm.release();
    expect((await until(accepted.id, 'TASK_STATE_COMPLETED')).status.state).toBe('TASK_STATE_COMPLETED');
  });

  it('cancel mid-run stops the tool (its LLM request is dropped), ends CANCELED and charges nothing; a second cancel is -32002', async () => {
    suite.llm.script('wait');
    const accepted = expectResult(await call(suite.gateway, report({ returnImmediately: true }), suite.key)).task;
    await suite.llm.received(1);
    const canceled = expectResult(await call(suite.gateway, request('CancelTask', { id: accepted.id }), suite.key));
    expect(canceled.status.state).toBe('TASK_STATE_CANCELED');
    const deadline = Date.now() + 2_000;
    while (suite.llm.abandoned === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(suite.llm.abandoned).toBe(1);

    suite.llm.release();
    // the cancelled run's own end (its abort, its settlement attempt) is the late work: wait for it
    expect(await suite.gateway.leases.idle(5_000)).toBe(true);
    expect((await getTask(accepted.id)).status.state).toBe('TASK_STATE_CANCELED');
    expect(await account(suite.gateway, suite.orgId)).toEqual({ balance: CREDITS, reserved: 0n });
    expect((await ledger(suite.gateway, suite.orgId)).map((row) => row.kind)).toEqual(['grant', 'reserve', 'release']);
    expectRpcError(await call(suite.gateway, request('CancelTask', { id: accepted.id }), suite.key), -32002);
    await expectLedgerInvariant(suite.gateway);
  });

  it('a blocking send whose task is cancelled from another request answers CANCELED', async () => {
    suite.llm.script('wait');
    const sending = call(suite.gateway, report(), suite.key);
    await suite.llm.received(1);
    const [working] = await suite.gateway.database.db.rows(
      z.object({ id: z.string() }),
      sql`select id from tasks where org_id = ${suite.orgId} and state = 'working'`,
    );
    expectResult(await call(suite.gateway, request('CancelTask', { id: working!.id }), suite.key));
    const answered = expectResult(await sending).task;
    expect(answered.status.state).toBe('TASK_STATE_CANCELED');
    expect((await account(suite.gateway, suite.orgId))?.balance).toBe(CREDITS);
  });

  it('a task whose instance died is taken over once its lease lapses, and completes once', async () => {
    const id = randomUUID();
    const [stranded] = await suite.gateway.database.db.rows(
      writtenTask,
      reserveWith({
        orgId: suite.orgId,
        keyId: suite.keyId,
        cost: REPORT_COST,
        periods: spendPeriodsAt(new Date()),
        taskWrite: insertWorkingTaskFromHold(
          {
            id,
            keyId: suite.keyId,
            contextId: randomUUID(),
            messageId: `m-${id}`,
            tool: 'getReputationReport',
            ...BUILT_IN_VERSION,
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

    const leases = createLeases({ db: suite.gateway.database.db, log: quietLog, leaseMs: 600 });
    const worker = {
      db: suite.gateway.database.db,
      log: quietLog,
      tools: createToolRegistry({
        llm: { complete: chatCompletions({ baseUrl: suite.llm.baseUrl, model: 'test-model', apiKey: undefined }), timeoutMs: 5_000 },
      }),
      leases,
      charges: createChargeCombiner(suite.gateway.database.db),
      settlement: 'by-tool' as const,
      platformFeeBps: 1_000,
      observe: UNOBSERVED,
      toolTimeoutMs: 5_000,
      taskDeadlineSlackMs: 30_000,
      clock: () => new Date(),
    };
    const [first, second] = await Promise.all([takeOverLapsedTasks(worker, 4), takeOverLapsedTasks(worker, 4)]);
    expect(first + second).toBe(1);
    await leases.idle(5_000);
    expect((await getTask(id)).status.state).toBe('TASK_STATE_COMPLETED');

    // The dead instance waking up cannot settle it a second time.
    const late = await suite.gateway.database.db.rows(
      writtenTask,
      settleWith('capture', completeWorkingTask(id, 'a-dead-instance', { late: true }, 1), { periods: spendPeriodsAt(new Date()) }),
    );
    expect(late).toEqual([]);
    expect((await ledger(suite.gateway, suite.orgId)).filter((row) => row.kind === 'capture')).toHaveLength(1);
    expect(await account(suite.gateway, suite.orgId)).toEqual({ balance: CREDITS - REPORT_COST, reserved: 0n });
    await expectLedgerInvariant(suite.gateway);
  });
});
