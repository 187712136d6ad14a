import { expect } from 'vitest';
import { type SeededGatewayWithOrg, useSeededGateway } from '../../helpers/seeded-gateway.js';
import { account, call, expectResult, ledger, request, taskCount, toolCall, v1Data, v1Send, v1Text } from '../support.js';

/**
 * What every suite of the raw JSON-RPC / A2A surface on POST /a2a starts with: a seeded gateway on
 * a fresh database, its ledger checked after every test, one organization with 10 USDC of credits,
 * and calls made with that organization's key unless another is given.
 */
export function useProtocolSuite() {
  const suite: SeededGatewayWithOrg = useSeededGateway({ org: { name: 'main org', credits: 10_000_000n } });

  const rpc = (method: string, params?: unknown, apiKey: string = suite.key, headers?: Record<string, string>) =>
    call(suite.gateway, request(method, params), apiKey, headers);

  /** A completed paid task for `apiKey` (v1 SendMessage), returned in its v1 shape. */
  async function completedTask(apiKey: string = suite.key, tool = 'getAgentProfile', args: Record<string, unknown> = { agentId: 1 }) {
    const task = expectResult(await rpc('SendMessage', v1Send([v1Data(toolCall(tool, args))]), apiKey)).task;
    expect(task.status.state).toBe('TASK_STATE_COMPLETED');
    return task;
  }

  /** A free task waiting for input (v1 SendMessage with text only). */
  async function waitingTask(apiKey: string = suite.key) {
    const task = expectResult(await rpc('SendMessage', v1Send([v1Text('hello')]), apiKey)).task;
    expect(task.status.state).toBe('TASK_STATE_INPUT_REQUIRED');
    return task;
  }

  /** An organization's account, ledger and task count: what a refused call must leave as it was. */
  async function moneyOf(orgId: string) {
    return {
      account: await account(suite.gateway, orgId),
      ledger: await ledger(suite.gateway, orgId),
      tasks: await taskCount(suite.gateway, orgId),
    };
  }

  return { suite, rpc, completedTask, waitingTask, moneyOf };
}
