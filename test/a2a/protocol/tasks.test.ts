/**
 * A task after it is opened: GetTask / CancelTask and their 0.3 names on unknown and other
 * organizations' tasks (-32001), on finished ones (-32002), follow-up messages, and historyLength.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  account,
  COST,
  expectResult,
  expectRpcError,
  ledger,
  toolCall,
  v1Data,
  v1Send,
  v1Text,
  v03Data,
  v03Send,
  v03Text,
} from '../support.js';
import { useProtocolSuite } from './suite.js';

const { suite, rpc, completedTask, waitingTask, moneyOf } = useProtocolSuite();

describe('-32001: task not found', () => {
  it.each([
    ['an unknown uuid', () => randomUUID()],
    ['a non-uuid id', () => 'not-a-task-id'],
    ['an empty id', () => ''],
    ['a sql-ish id', () => "' or 1=1 --"],
  ])('%s → -32001 on GetTask, CancelTask, tasks/get and tasks/cancel, echoing the id', async (_name, makeId) => {
    const id = makeId();
    for (const method of ['GetTask', 'CancelTask', 'tasks/get', 'tasks/cancel']) {
      const error = expectRpcError(await rpc(method, { id }), -32001);
      expect(error.data).toEqual({ taskId: id });
    }
  });

  it("another organization's task is not found, in any method, and stays untouched", async () => {
    const stranger = await suite.gateway.createOrg({ name: 'stranger', credits: 1_000_000n });
    const waiting = await waitingTask();
    const done = await completedTask();
    const ownerBefore = await moneyOf(suite.org.orgId);
    const strangerBefore = await moneyOf(stranger.orgId);

    for (const task of [waiting, done]) {
      for (const method of ['GetTask', 'CancelTask', 'tasks/get', 'tasks/cancel']) {
        const error = expectRpcError(await rpc(method, { id: task.id }, stranger.apiKey.key), -32001);
        expect(error.data).toEqual({ taskId: task.id });
      }
      // continuing someone else's task is not found either, for both generations
      const v1 = await rpc(
        'SendMessage',
        v1Send([v1Data(toolCall('getAgentProfile', { agentId: 1 }))], { taskId: task.id }),
        stranger.apiKey.key,
      );
      expect(expectRpcError(v1, -32001).data).toEqual({ taskId: task.id });
      const v03 = await rpc(
        'message/send',
        v03Send([v03Data(toolCall('getAgentProfile', { agentId: 1 }))], { taskId: task.id }),
        stranger.apiKey.key,
      );
      expect(expectRpcError(v03, -32001).data).toEqual({ taskId: task.id });
    }
    // the stranger's list does not show them
    const listed = expectResult(await rpc('ListTasks', {}, stranger.apiKey.key));
    expect(listed.totalSize).toBe(0);

    expect(expectResult(await rpc('GetTask', { id: waiting.id })).status.state).toBe('TASK_STATE_INPUT_REQUIRED');
    expect(expectResult(await rpc('GetTask', { id: done.id })).status.state).toBe('TASK_STATE_COMPLETED');
    expect(await moneyOf(suite.org.orgId)).toEqual(ownerBefore);
    expect(await moneyOf(stranger.orgId)).toEqual(strangerBefore);
  });
});

describe('-32002: task not cancelable', () => {
  it('a completed task → -32002 with its state, in both generations; the charge stands', async () => {
    const done = await completedTask();
    const before = await moneyOf(suite.org.orgId);
    for (const method of ['CancelTask', 'tasks/cancel']) {
      const error = expectRpcError(await rpc(method, { id: done.id }), -32002);
      expect(error.data).toEqual({ taskId: done.id, state: 'completed' });
    }
    expect(await moneyOf(suite.org.orgId)).toEqual(before);
    const entries = (await ledger(suite.gateway, suite.org.orgId)).filter((row) => row.task_id === done.id);
    expect(entries.map((row) => row.kind)).toEqual(['charge']);
    expect(expectResult(await rpc('GetTask', { id: done.id })).status.state).toBe('TASK_STATE_COMPLETED');
  });

  it('a canceled task → -32002 (state canceled); a failed one → -32002 (state failed)', async () => {
    const waiting = await waitingTask();
    expect(expectResult(await rpc('CancelTask', { id: waiting.id })).status.state).toBe('TASK_STATE_CANCELED');
    expect(expectRpcError(await rpc('CancelTask', { id: waiting.id }), -32002).data).toEqual({
      taskId: waiting.id,
      state: 'canceled',
    });
    expect(expectRpcError(await rpc('tasks/cancel', { id: waiting.id }), -32002).data).toMatchObject({ state: 'canceled' });

    const failed = expectRpcError(await rpc('SendMessage', v1Send([v1Data(toolCall('getAgentProfile', { agentId: 999_999 }))])), -32602);
    const failedId = failed.data?.taskId as string;
    expect(expectRpcError(await rpc('CancelTask', { id: failedId }), -32002).data).toEqual({
      taskId: failedId,
      state: 'failed',
    });
  });
});

describe('follow-up messages on a task', () => {
  // (was -32603 "column reference org_id is ambiguous" in src/tasks/store.ts until it was fixed)
  it('a tool call on a task waiting for input completes it and charges once (v1 SendMessage)', async () => {
    const before = await account(suite.gateway, suite.org.orgId);
    const waiting = await waitingTask();
    const followUp = v1Send([v1Data(toolCall('getReputationSummary', { agentId: 8 }))], { taskId: waiting.id });
    const task = expectResult(await rpc('SendMessage', followUp)).task;
    expect(task.id).toBe(waiting.id);
    expect(task.status.state).toBe('TASK_STATE_COMPLETED');
    expect(task.artifacts[0].parts[0].data).toMatchObject({ agent_id: 8 });
    expect(expectResult(await rpc('SendMessage', followUp)).task.id).toBe(waiting.id);
    expect((await account(suite.gateway, suite.org.orgId))?.balance).toBe((before?.balance ?? 0n) - COST.getReputationSummary);
    const entries = (await ledger(suite.gateway, suite.org.orgId)).filter((row) => row.task_id === waiting.id);
    expect(entries.map((row) => row.kind)).toEqual(['reserve', 'capture']);
  });

  it('a text follow-up on a waiting task keeps it waiting, free; a follow-up to a finished task is refused', async () => {
    const before = await account(suite.gateway, suite.org.orgId);
    const waiting = await waitingTask();
    const again = expectResult(await rpc('message/send', v03Send([v03Text('which tools?')], { taskId: waiting.id })));
    expect(again.id).toBe(waiting.id);
    expect(again.status.state).toBe('input-required');
    expect(again.history.map((m: { role: string }) => m.role)).toEqual(['user', 'agent', 'user', 'agent']);
    expect(await account(suite.gateway, suite.org.orgId)).toEqual(before);

    const mismatch = expectRpcError(
      await rpc('SendMessage', v1Send([v1Text('x')], { taskId: waiting.id, contextId: 'some-other-context' })),
      -32602,
    );
    expect(mismatch.data).toMatchObject({ reason: 'context_mismatch', taskId: waiting.id });

    expectResult(await rpc('CancelTask', { id: waiting.id }));
    const closed = expectRpcError(
      await rpc('SendMessage', v1Send([v1Data(toolCall('getAgentProfile', { agentId: 1 }))], { taskId: waiting.id })),
      -32004,
    );
    expect(closed.data).toEqual({ reason: 'task_not_accepting_input', taskId: waiting.id, state: 'canceled' });
    expect(await account(suite.gateway, suite.org.orgId)).toEqual(before);
  });
});

describe('historyLength', () => {
  it('SendMessage / message/send configuration.historyLength trims the returned history', async () => {
    const none = expectResult(await rpc('SendMessage', v1Send([v1Text('a')], { historyLength: 0 }))).task;
    expect(none.history).toBeUndefined();
    const one = expectResult(await rpc('SendMessage', v1Send([v1Text('b')], { historyLength: 1 }))).task;
    expect(one.history.map((m: { role: string }) => m.role)).toEqual(['ROLE_AGENT']);
    const all = expectResult(await rpc('SendMessage', v1Send([v1Text('c')]))).task;
    expect(all.history).toHaveLength(2);

    const none03 = expectResult(await rpc('message/send', v03Send([v03Text('d')], { historyLength: 0 })));
    expect(none03.history).toBeUndefined();
    const one03 = expectResult(await rpc('message/send', v03Send([v03Text('e')], { historyLength: 1 })));
    expect(one03.history.map((m: { role: string }) => m.role)).toEqual(['agent']);
  });

  it('GetTask / tasks/get historyLength keeps the latest messages; a bad value is -32602', async () => {
    const waiting = await waitingTask();
    expect(expectResult(await rpc('GetTask', { id: waiting.id })).history).toHaveLength(2);
    expect(expectResult(await rpc('GetTask', { id: waiting.id, historyLength: 5 })).history).toHaveLength(2);
    const latest = expectResult(await rpc('GetTask', { id: waiting.id, historyLength: 1 })).history;
    expect(latest).toHaveLength(1);
    expect(latest[0].role).toBe('ROLE_AGENT');
    expect(expectResult(await rpc('GetTask', { id: waiting.id, historyLength: 0 })).history).toBeUndefined();
    const latest03 = expectResult(await rpc('tasks/get', { id: waiting.id, historyLength: 1 })).history;
    expect(latest03).toHaveLength(1);
    expect(latest03[0]).toMatchObject({ kind: 'message', role: 'agent' });

    for (const historyLength of [-1, 1.5, 'all', 1001]) {
      const error = expectRpcError(await rpc('GetTask', { id: waiting.id, historyLength }), -32602);
      expect((error.data?.issues as Array<{ path: string }> | undefined)?.map((i) => i.path)).toContain('historyLength');
    }
  });
});
