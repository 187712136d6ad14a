import { describe, expect, it } from 'vitest';
import {
  account,
  call,
  expectRpcError,
  ledger,
  request,
  taskCount,
  toolCall,
  v1Data,
  v1Send,
  v1Text,
  v03Data,
  v03Send,
  v03Text,
} from '../a2a/support.js';
import { useSeededGateway } from '../helpers/seeded-gateway.js';

/**
 * A send whose webhook cannot be registered is refused before its tool runs: no task, no money
 * moved. Before, the tool ran, was charged and stored completed, and the answer was -32602 without
 * the task — a charged call answered with an error.
 */

const BAD_URLS = ['file:///etc/passwd', 'https://user:secret@example.com/hook', 'gopher://example.com/', 'not a url'];

function v1SendWithPush(parts: Array<Record<string, unknown>>, url: string, extra: { taskId?: string } = {}) {
  return { ...v1Send(parts, extra), configuration: { taskPushNotificationConfig: { url, token: 'tok' } } };
}

function v03SendWithPush(parts: Array<Record<string, unknown>>, url: string, extra: { taskId?: string } = {}) {
  return { ...v03Send(parts, extra), configuration: { pushNotificationConfig: { url, token: 'tok' } } };
}

describe('a send refused for its webhook costs nothing', () => {
  const suite = useSeededGateway({ demoData: { agents: 2, feedbacksPerAgent: 2, validationsPerAgent: 1 } });

  it.each(BAD_URLS)('a paid call with webhook %j: -32602 invalid_webhook_url, no task, no ledger row, in both generations', async (url) => {
    const org = await suite.gateway.createOrg({ credits: 1_000_000n });
    const before = await account(suite.gateway, org.orgId);
    const v1 = expectRpcError(
      await call(
        suite.gateway,
        request('SendMessage', v1SendWithPush([v1Data(toolCall('getAgentProfile', { agentId: 1 }))], url)),
        org.apiKey.key,
      ),
      -32602,
    );
    expect(v1.data?.reason).toBe('invalid_webhook_url');
    const v03 = expectRpcError(
      await call(
        suite.gateway,
        request('message/send', v03SendWithPush([v03Data(toolCall('getAgentProfile', { agentId: 1 }))], url)),
        org.apiKey.key,
      ),
      -32602,
    );
    expect(v03.data?.reason).toBe('invalid_webhook_url');
    expect(await taskCount(suite.gateway, org.orgId)).toBe(0);
    expect((await ledger(suite.gateway, org.orgId)).map((row) => row.kind)).toEqual(['grant']);
    expect(await account(suite.gateway, org.orgId)).toEqual(before);
  });

  it('a held follow-up on a waiting task with a bad webhook: refused, the task still waits, nothing reserved', async () => {
    const org = await suite.gateway.createOrg({ credits: 1_000_000n });
    const opened = await call(suite.gateway, request('SendMessage', v1Send([v1Text('hello')])), org.apiKey.key);
    const taskId = opened.body.result.task.id as string;
    const refused = expectRpcError(
      await call(
        suite.gateway,
        request('SendMessage', v1SendWithPush([v1Data(toolCall('getAgentProfile', { agentId: 1 }))], 'file:///etc/passwd', { taskId })),
        org.apiKey.key,
      ),
      -32602,
    );
    expect(refused.data?.reason).toBe('invalid_webhook_url');
    const v03 = expectRpcError(
      await call(
        suite.gateway,
        request('message/send', v03SendWithPush([v03Text('more')], 'https://a:b@example.com/', { taskId })),
        org.apiKey.key,
      ),
      -32602,
    );
    expect(v03.data?.reason).toBe('invalid_webhook_url');
    const task = await call(suite.gateway, request('GetTask', { id: taskId }), org.apiKey.key);
    expect(task.body.result.status.state).toBe('TASK_STATE_INPUT_REQUIRED');
    expect(task.body.result.history).toHaveLength(2);
    expect((await ledger(suite.gateway, org.orgId)).map((row) => row.kind)).toEqual(['grant']);
  });
});
