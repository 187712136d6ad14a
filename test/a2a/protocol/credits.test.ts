/**
 * Paid calls and the money around them: refusals for credits (-32004, nothing moves), the exact
 * price of a completed call, and a failed call that costs nothing.
 */
import { describe, expect, it } from 'vitest';
import {
  account,
  expectResult,
  expectRpcError,
  ledger,
  orgWithoutCreditAccount,
  taskCount,
  toolCall,
  v1Data,
  v1Send,
  v03Data,
  v03Send,
} from '../support.js';
import { useProtocolSuite } from './suite.js';

const { suite, rpc, completedTask, moneyOf } = useProtocolSuite();

describe('-32004: credits', () => {
  it('an organization without a credit account → reason no_credit_account; no task, no ledger, no account appears', async () => {
    const bare = await orgWithoutCreditAccount(suite.gateway);
    for (const [method, params] of [
      ['SendMessage', v1Send([v1Data(toolCall('getAgentProfile', { agentId: 1 }))])],
      ['message/send', v03Send([v03Data(toolCall('getReputationSummary', { agentId: 1 }))])],
    ] as const) {
      const error = expectRpcError(await rpc(method, params, bare.apiKey.key), -32004);
      expect(error.data).toEqual({ reason: 'no_credit_account' });
    }
    expect(await account(suite.gateway, bare.orgId)).toBeUndefined();
    expect(await ledger(suite.gateway, bare.orgId)).toEqual([]);
    expect(await taskCount(suite.gateway, bare.orgId)).toBe(0);
    // the key itself is fine: free methods work
    expect(expectResult(await rpc('ListTasks', {}, bare.apiKey.key)).totalSize).toBe(0);
  });

  it('available < cost → reason insufficient_credits with required and available as strings; nothing moves', async () => {
    const poor = await suite.gateway.createOrg({ name: 'poor', credits: 5_000n });
    const before = await moneyOf(poor.orgId);
    for (const [method, params] of [
      ['SendMessage', v1Send([v1Data(toolCall('getReputationSummary', { agentId: 1 }))])],
      ['message/send', v03Send([v03Data(toolCall('getTrend', { agentId: 1 }))])],
    ] as const) {
      const error = expectRpcError(await rpc(method, params, poor.apiKey.key), -32004);
      expect(error.data).toEqual({ reason: 'insufficient_credits', required: '10000', available: '5000' });
    }
    expect(await moneyOf(poor.orgId)).toEqual(before);

    // a cheaper call fits, and the next refusal reports what is left
    await completedTask(poor.apiKey.key, 'getAgentProfile', { agentId: 2 });
    expect((await account(suite.gateway, poor.orgId))?.balance).toBe(4_000n);
    const error = expectRpcError(
      await rpc('SendMessage', v1Send([v1Data(toolCall('getValidationHistory', { agentId: 1 }))]), poor.apiKey.key),
      -32004,
    );
    expect(error.data).toEqual({ reason: 'insufficient_credits', required: '10000', available: '4000' });
  });
});

describe('tool results and the money around them', () => {
  it('getReputationSummary returns the documented fields and costs exactly 10,000 micro-USDC', async () => {
    const before = await account(suite.gateway, suite.org.orgId);
    const task = await completedTask(suite.key, 'getReputationSummary', { agentId: 7 });
    const result = task.artifacts[0].parts[0].data as Record<string, unknown>;
    for (const field of [
      'agent_id',
      'reputation_score',
      'total_feedbacks',
      'positive_feedbacks',
      'negative_feedbacks',
      'neutral_feedbacks',
      'average_score',
      'computed_at',
    ]) {
      expect(result, field).toHaveProperty(field);
    }
    expect(result.agent_id).toBe(7);
    expect(Number.isInteger(result.total_feedbacks)).toBe(true);
    expect(result.total_feedbacks).toBeGreaterThan(0);
    for (const count of ['positive_feedbacks', 'negative_feedbacks', 'neutral_feedbacks'] as const) {
      expect(Number.isInteger(result[count])).toBe(true);
      expect(result[count] as number).toBeGreaterThanOrEqual(0);
    }
    expect(
      (result.positive_feedbacks as number) + (result.negative_feedbacks as number) + (result.neutral_feedbacks as number),
    ).toBeLessThanOrEqual(result.total_feedbacks as number);
    expect(result.reputation_score === null || typeof result.reputation_score === 'number').toBe(true);
    expect(result.average_score === null || typeof result.average_score === 'number').toBe(true);
    expect(Number.isNaN(Date.parse(String(result.computed_at)))).toBe(false);

    const after = await account(suite.gateway, suite.org.orgId);
    expect(after?.balance).toBe((before?.balance ?? 0n) - 10_000n);
    expect(after?.reserved).toBe(before?.reserved);
  });

  it.each([
    ['v1 SendMessage', 'SendMessage', () => v1Send([v1Data(toolCall('getReputationSummary', { agentId: 999_999 }))])],
    ['v0.3 message/send', 'message/send', () => v03Send([v03Data(toolCall('getAgentProfile', { agentId: '999999' }))])],
  ] as const)('%s for an unknown agent → -32602 agent_not_found, a failed task, and no charge', async (_name, method, params) => {
    const before = await account(suite.gateway, suite.org.orgId);
    const error = expectRpcError(await rpc(method, params()), -32602);
    expect(error.data).toMatchObject({ reason: 'agent_not_found', agentId: '999999' });
    const taskId = error.data?.taskId as string;
    expect(taskId).toMatch(/^[0-9a-f-]{36}$/);

    expect(await account(suite.gateway, suite.org.orgId)).toEqual(before);
    // an instant call that did not answer never touched the account: no ledger row at all
    expect((await ledger(suite.gateway, suite.org.orgId)).filter((row) => row.task_id === taskId)).toEqual([]);

    const task = expectResult(await rpc('GetTask', { id: taskId }));
    expect(task.status.state).toBe('TASK_STATE_FAILED');
    expect(task.metadata.charged).toBe(false);
    expect(task.artifacts).toBeUndefined();
  });
});
