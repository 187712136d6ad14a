/**
 * The two wire generations on one endpoint: A2A 1.0 and 0.3 shapes of the same task, the A2A-Version
 * header (-32009 for one not supported), and A2A 1.0 errors carrying a google.rpc.ErrorInfo.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  call,
  errorDetails,
  expectResult,
  expectRpcError,
  request,
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

describe('wire shapes: A2A 1.0 vs 0.3', () => {
  it('1.0: {task}, TASK_STATE_* names, ROLE_USER / ROLE_AGENT, parts without kind', async () => {
    const done = expectResult(await rpc('SendMessage', v1Send([v1Data(toolCall('getAgentProfile', { agentId: 5 }))])));
    expect(Object.keys(done)).toEqual(['task']);
    expect(done.task.status.state).toBe('TASK_STATE_COMPLETED');
    expect(done.task.history[0].role).toBe('ROLE_USER');
    expect(done.task.history[0].parts[0]).toEqual({ data: toolCall('getAgentProfile', { agentId: 5 }) });
    expect(done.task.artifacts[0].parts[0].data).toMatchObject({ agent_id: 5 });
    expect(done.task.metadata).toMatchObject({ tool: 'getAgentProfile', cost_micro_usdc: '1000', charged: true });
    expect(typeof done.task.status.timestamp).toBe('string');
    expect(Number.isNaN(Date.parse(done.task.status.timestamp))).toBe(false);

    const waiting = expectResult(await rpc('SendMessage', v1Send([v1Text('hi')]))).task;
    expect(waiting.status.state).toBe('TASK_STATE_INPUT_REQUIRED');
    expect(waiting.status.message.role).toBe('ROLE_AGENT');
    expect(waiting.status.message.parts[0]).toEqual({ text: expect.stringContaining('getAgentProfile') });
    expect(waiting.history.map((m: { role: string }) => m.role)).toEqual(['ROLE_USER', 'ROLE_AGENT']);
    expect(waiting.metadata).toMatchObject({ cost_micro_usdc: '0', charged: false });

    for (const text of [JSON.stringify(done), JSON.stringify(waiting)]) {
      expect(text).not.toMatch(/"kind"/);
      expect(text).not.toMatch(/"state":"(completed|input-required)"/);
    }
  });

  it('0.3: kind discriminators and lower-case states; the same task reads the same in both', async () => {
    const done = expectResult(await rpc('message/send', v03Send([v03Data(toolCall('getAgentProfile', { agentId: 6 }))])));
    expect(done.kind).toBe('task');
    expect(done.status.state).toBe('completed');
    expect(done.history[0]).toMatchObject({ kind: 'message', role: 'user' });
    expect(done.history[0].parts[0]).toEqual({ kind: 'data', data: toolCall('getAgentProfile', { agentId: 6 }) });
    expect(done.artifacts[0].parts[0]).toMatchObject({ kind: 'data', data: { agent_id: 6 } });

    const waiting = expectResult(await rpc('message/send', v03Send([v03Text('hi')])));
    expect(waiting.status.state).toBe('input-required');
    expect(waiting.status.message).toMatchObject({ kind: 'message', role: 'agent' });
    expect(waiting.status.message.parts.map((p: { kind: string }) => p.kind)).toEqual(['text', 'data']);
    for (const text of [JSON.stringify(done), JSON.stringify(waiting)]) {
      expect(text).not.toMatch(/ROLE_|TASK_STATE_/);
    }

    // a 0.3 task read through 1.0, and back
    const asV1 = expectResult(await rpc('GetTask', { id: done.id }));
    expect(asV1.status.state).toBe('TASK_STATE_COMPLETED');
    expect(asV1.artifacts[0].parts[0].data).toEqual(done.artifacts[0].parts[0].data);
    const asV03 = expectResult(await rpc('tasks/get', { id: done.id }));
    expect(asV03).toEqual(done);
  });
});

describe('A2A-Version header', () => {
  it.each(['1.0', '0.3', '1.0.0', '0.3.5'])('%s is accepted for both generations', async (version) => {
    expectResult(await rpc('ListTasks', {}, suite.key, { 'a2a-version': version }));
    expectResult(await rpc('tasks/get', { id: (await waitingTask()).id }, suite.key, { 'a2a-version': version }));
  });

  it.each(['9.9', '2.0', '0.2', '1', 'latest'])('%s → -32009 listing the supported versions, and nothing runs', async (version) => {
    const before = await moneyOf(suite.org.orgId);
    for (const [method, params] of [
      ['ListTasks', {}],
      ['SendMessage', v1Send([v1Data(toolCall('getAgentProfile', { agentId: 1 }))])],
      ['message/send', v03Send([v03Text('hi')])],
    ] as const) {
      const error = expectRpcError(await rpc(method, params, suite.key, { 'a2a-version': version }), -32009);
      if (version === '0.2' || version === 'latest') {
        expect(error.data).toEqual({ requested: version, supported: ['0.3', '1.0'] });
      } else {
        // a version of 1 or above reads the 1.0 shape
        expect(errorDetails(error).info).toMatchObject({
          reason: 'VERSION_NOT_SUPPORTED',
          metadata: { requested: version, supported: '0.3,1.0' },
        });
      }
    }
    expect(await moneyOf(suite.org.orgId)).toEqual(before);
  });
});

describe('A2A 1.0 error shape: with A2A-Version 1.x, error.data is an array holding a google.rpc.ErrorInfo', () => {
  const v1 = { 'a2a-version': '1.0' };
  const ERROR_INFO = 'type.googleapis.com/google.rpc.ErrorInfo';

  it('A2A errors carry their A2A reason and domain; our details travel as string metadata', async () => {
    const missing = randomUUID();
    const notFound = expectRpcError(await rpc('GetTask', { id: missing }, suite.key, v1), -32001);
    expect(notFound.data).toEqual([
      { '@type': ERROR_INFO, reason: 'TASK_NOT_FOUND', domain: 'a2a-protocol.org', metadata: { taskId: missing } },
    ]);

    const done = await completedTask();
    const notCancelable = expectRpcError(await rpc('CancelTask', { id: done.id }, suite.key, v1), -32002);
    expect(errorDetails(notCancelable).info).toEqual({
      '@type': ERROR_INFO,
      reason: 'TASK_NOT_CANCELABLE',
      domain: 'a2a-protocol.org',
      metadata: { taskId: done.id, state: 'completed' },
    });

    const poor = await suite.gateway.createOrg({ name: 'poor 1.0', credits: 5_000n });
    const before = await moneyOf(poor.orgId);
    const credits = expectRpcError(
      await rpc('SendMessage', v1Send([v1Data(toolCall('getReputationSummary', { agentId: 1 }))]), poor.apiKey.key, v1),
      -32004,
    );
    expect(credits.message).toBe('Insufficient credits');
    expect(credits.data).toEqual([
      {
        '@type': ERROR_INFO,
        reason: 'UNSUPPORTED_OPERATION',
        domain: 'a2a-protocol.org',
        metadata: { reason: 'insufficient_credits', required: '10000', available: '5000' },
      },
    ]);
    expect(await moneyOf(poor.orgId)).toEqual(before);

    const card = expectRpcError(await rpc('GetExtendedAgentCard', {}, suite.key, v1), -32007);
    expect(errorDetails(card).info).toMatchObject({
      reason: 'EXTENDED_AGENT_CARD_NOT_CONFIGURED',
      metadata: { reason: 'extended_card_not_configured' },
    });
  });

  it('standard JSON-RPC errors take the same array: -32602 adds a google.rpc.BadRequest per failed field', async () => {
    const invalid = expectRpcError(await rpc('SendMessage', { message: { role: 'ROLE_USER', parts: [] } }, suite.key, v1), -32602);
    const { info, rest } = errorDetails(invalid);
    expect(info).toEqual({ '@type': ERROR_INFO, reason: 'INVALID_PARAMS', domain: 'a2a-protocol.org' });
    expect(rest).toEqual([
      {
        '@type': 'type.googleapis.com/google.rpc.BadRequest',
        fieldViolations: expect.arrayContaining([{ field: 'message.messageId', description: expect.any(String) }]),
      },
    ]);

    const unknownTool = expectRpcError(await rpc('SendMessage', v1Send([v1Data(toolCall('noSuchTool'))]), suite.key, v1), -32602);
    const unknownInfo = errorDetails(unknownTool).info;
    expect(unknownInfo).toMatchObject({ reason: 'INVALID_PARAMS', metadata: { reason: 'unknown_tool', tool: 'noSuchTool' } });
    expect(unknownInfo.metadata?.validTools?.split(',')).toContain('getAgentProfile');

    expect(errorDetails(expectRpcError(await rpc('nope', {}, suite.key, v1), -32601)).info).toMatchObject({
      reason: 'METHOD_NOT_FOUND',
      metadata: { method: 'nope' },
    });
    expect(errorDetails(expectRpcError(await call(suite.gateway, '{"jsonrpc":', suite.key, v1), -32700)).info.reason).toBe('JSON_PARSE');
    expect(errorDetails(expectRpcError(await call(suite.gateway, [], suite.key, v1), -32600)).info.reason).toBe('INVALID_REQUEST');

    const unauthorized = await call(suite.gateway, request('ListTasks', {}), undefined, v1);
    expect(unauthorized.status).toBe(401);
    expect(errorDetails(unauthorized.body.error as never).info).toEqual({
      '@type': ERROR_INFO,
      reason: 'UNAUTHENTICATED',
      domain: 'a2a-paygate',
      metadata: { reason: 'missing_api_key' },
    });
  });

  it('without the header (A2A 1.0 §3.6.2: an empty version is 0.3) or with 0.3, data stays the 0.3 object, whatever the method', async () => {
    for (const headers of [{}, { 'a2a-version': '0.3' }] as Array<Record<string, string>>) {
      const missing = randomUUID();
      expect(expectRpcError(await rpc('GetTask', { id: missing }, suite.key, headers), -32001).data).toEqual({ taskId: missing });
      expect(expectRpcError(await rpc('tasks/get', { id: missing }, suite.key, headers), -32001).data).toEqual({ taskId: missing });
      expect(expectRpcError(await rpc('nope', {}, suite.key, headers), -32601).data).toEqual({ method: 'nope' });
    }
  });
});
