/**
 * -32602 on POST /a2a: unknown and disabled tools, tool arguments that fail their schema, malformed
 * tool calls and messages, in both wire generations; a refused call moves no money and opens no task.
 */
import { describe, expect, it } from 'vitest';
import { ENABLED_TOOLS, expectRpcError, taskCount, toolCall, v1Data, v1Send, v03Data, v03Send } from '../support.js';
import { useProtocolSuite } from './suite.js';

const { suite, rpc, moneyOf } = useProtocolSuite();

describe('-32602: bad params', () => {
  const sendVariants = [
    ['v1 SendMessage', 'SendMessage', (data: unknown) => v1Send([v1Data(data)])],
    ['v0.3 message/send', 'message/send', (data: unknown) => v03Send([v03Data(data)])],
  ] as const;

  describe.each(sendVariants)('%s', (_label, method, paramsFor) => {
    it('an unknown tool → data.validTools lists exactly the enabled tools; nothing charged', async () => {
      const before = await moneyOf(suite.org.orgId);
      for (const name of ['noSuchTool', 'getagentprofile', 'GetAgentProfile']) {
        const error = expectRpcError(await rpc(method, paramsFor(toolCall(name, { agentId: 1 }))), -32602);
        expect(error.data).toMatchObject({ reason: 'unknown_tool', tool: name });
        expect(error.data?.validTools).toEqual([...ENABLED_TOOLS]);
      }
      expect(await moneyOf(suite.org.orgId)).toEqual(before);
    });

    it('the disabled getReputationReport → reason tool_disabled, and it is not among validTools; nothing charged', async () => {
      const before = await moneyOf(suite.org.orgId);
      const error = expectRpcError(await rpc(method, paramsFor(toolCall('getReputationReport', { agentId: 1 }))), -32602);
      expect(error.data).toMatchObject({ reason: 'tool_disabled', tool: 'getReputationReport' });
      expect(typeof error.data?.why).toBe('string');
      expect(error.data?.validTools).toEqual([...ENABLED_TOOLS]);
      expect(error.data?.validTools).not.toContain('getReputationReport');
      expect(await moneyOf(suite.org.orgId)).toEqual(before);
    });

    it.each([
      ['getAgentProfile', {}, 'agentId'],
      ['getAgentProfile', { agentId: -1 }, 'agentId'],
      ['getAgentProfile', { agentId: 'abc' }, 'agentId'],
      ['getAgentProfile', { agentId: 1.5 }, 'agentId'],
      ['getAgentProfile', { agentId: '99999999999999999999' }, 'agentId'],
      ['getAgentProfile', { agentId: 1, unexpected: true }, undefined],
      ['getTrend', { agentId: 1, period: '400d' }, 'period'],
      ['getTrend', { agentId: 1, period: 'weekly' }, 'period'],
      ['getMyFeedbacks', { agentId: 1, limit: 0 }, 'limit'],
      ['getValidationHistory', { agentId: 1, offset: -1 }, 'offset'],
    ])('%s with %j fails its schema → data.issues; nothing charged', async (tool, args, path) => {
      const before = await moneyOf(suite.org.orgId);
      const error = expectRpcError(await rpc(method, paramsFor(toolCall(tool, args))), -32602);
      expect(error.data).toMatchObject({ reason: 'invalid_arguments', tool });
      const issues = error.data?.issues as Array<{ path: string; message: string }>;
      expect(issues.length).toBeGreaterThan(0);
      for (const issue of issues) {
        expect(typeof issue.path).toBe('string');
        expect(typeof issue.message).toBe('string');
      }
      if (path) expect(issues.map((issue) => issue.path)).toContain(path);
      expect(await moneyOf(suite.org.orgId)).toEqual(before);
    });

    it('a malformed tool call → invalid_tool_call; two tool calls in one message → multiple_tool_calls', async () => {
      const before = await moneyOf(suite.org.orgId);
      for (const data of [{ tool: '' }, { tool: 42 }, { tool: 'getAgentProfile', arguments: 5 }]) {
        const error = expectRpcError(await rpc(method, paramsFor(data)), -32602);
        expect(error.data?.reason).toBe('invalid_tool_call');
        expect((error.data?.issues as unknown[] | undefined)?.length).toBeGreaterThan(0);
      }
      const two =
        method === 'SendMessage'
          ? v1Send([v1Data(toolCall('getAgentProfile', { agentId: 1 })), v1Data(toolCall('getTrend', { agentId: 1 }))])
          : v03Send([v03Data(toolCall('getAgentProfile', { agentId: 1 })), v03Data(toolCall('getTrend', { agentId: 1 }))]);
      const error = expectRpcError(await rpc(method, two), -32602);
      expect(error.data).toMatchObject({ reason: 'multiple_tool_calls', count: 2 });
      expect(await moneyOf(suite.org.orgId)).toEqual(before);
    });
  });

  const part = { v1: { text: 'hi' }, v03: { kind: 'text', text: 'hi' } };
  const malformed: Array<[string, 'SendMessage' | 'message/send', unknown, string]> = [
    ['no messageId', 'SendMessage', { role: 'ROLE_USER', parts: [part.v1] }, 'message.messageId'],
    ['an empty messageId', 'SendMessage', { messageId: '', role: 'ROLE_USER', parts: [part.v1] }, 'message.messageId'],
    ['no role', 'SendMessage', { messageId: 'a', parts: [part.v1] }, 'message.role'],
    ['role ROLE_AGENT', 'SendMessage', { messageId: 'a', role: 'ROLE_AGENT', parts: [part.v1] }, 'message.role'],
    ['a 0.3 role', 'SendMessage', { messageId: 'a', role: 'user', parts: [part.v1] }, 'message.role'],
    ['no parts', 'SendMessage', { messageId: 'a', role: 'ROLE_USER' }, 'message.parts'],
    ['empty parts', 'SendMessage', { messageId: 'a', role: 'ROLE_USER', parts: [] }, 'message.parts'],
    ['an unknown part kind', 'SendMessage', { messageId: 'a', role: 'ROLE_USER', parts: [{ video: 'x' }] }, 'message.parts.0'],
    ['a part with two contents', 'SendMessage', { messageId: 'a', role: 'ROLE_USER', parts: [{ text: 'a', data: {} }] }, 'message.parts.0'],
    ['no message', 'SendMessage', undefined, 'message'],
    ['no messageId', 'message/send', { kind: 'message', role: 'user', parts: [part.v03] }, 'message.messageId'],
    ['an empty messageId', 'message/send', { kind: 'message', messageId: '', role: 'user', parts: [part.v03] }, 'message.messageId'],
    ['no role', 'message/send', { kind: 'message', messageId: 'a', parts: [part.v03] }, 'message.role'],
    ['role agent', 'message/send', { kind: 'message', messageId: 'a', role: 'agent', parts: [part.v03] }, 'message.role'],
    ['a 1.0 role', 'message/send', { kind: 'message', messageId: 'a', role: 'ROLE_USER', parts: [part.v03] }, 'message.role'],
    ['no parts', 'message/send', { kind: 'message', messageId: 'a', role: 'user' }, 'message.parts'],
    ['empty parts', 'message/send', { kind: 'message', messageId: 'a', role: 'user', parts: [] }, 'message.parts'],
    [
      'an unknown part kind',
      'message/send',
      { kind: 'message', messageId: 'a', role: 'user', parts: [{ kind: 'video', url: 'x' }] },
      'message.parts.0.kind',
    ],
    [
      'a part without kind (1.0 style)',
      'message/send',
      { kind: 'message', messageId: 'a', role: 'user', parts: [part.v1] },
      'message.parts.0.kind',
    ],
    ['no message', 'message/send', undefined, 'message'],
  ];

  it.each(malformed)('a message with %s → %s answers -32602 with data.issues at the path', async (_name, method, message, path) => {
    const before = await taskCount(suite.gateway, suite.org.orgId);
    const params = message === undefined ? {} : { message };
    const error = expectRpcError(await rpc(method, params), -32602);
    const issues = error.data?.issues as Array<{ path: string; message: string }>;
    expect(Array.isArray(issues)).toBe(true);
    expect(
      issues.map((issue) => issue.path),
      JSON.stringify(issues),
    ).toContain(path);
    expect(await taskCount(suite.gateway, suite.org.orgId)).toBe(before);
  });

  it('params that are not an object (an array) → -32602', async () => {
    const error = expectRpcError(await rpc('GetTask', ['x']), -32602);
    expect(Array.isArray(error.data?.issues)).toBe(true);
  });
});
