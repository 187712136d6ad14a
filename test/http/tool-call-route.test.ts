import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { OPERATOR } from '../../src/audit/record.js';
import { createApiKey } from '../../src/auth/api-keys.js';
import { getCreditAccount } from '../../src/billing/accounts.js';
import { updateKeyPolicy } from '../../src/policies/store.js';
import { useSeededGateway } from '../helpers/seeded-gateway.js';

/** POST /v1/tools/{name}/call: a paid call for clients that speak neither A2A nor MCP (issue 21, with an API key). */
const suite = useSeededGateway({ org: { credits: 1_000_000n } });

function call(name: string, body: unknown, headers: Record<string, string> = {}, query = '') {
  return suite.gateway.app.request(`/v1/tools/${name}/call${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${suite.key}`, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}
const balance = async (orgId = suite.org.orgId) => (await getCreditAccount(suite.gateway.database.db, orgId))?.balance;

describe('happy', () => {
  it("answers the tool's result, charges exactly its price, and the task is in the billing API", async () => {
    const before = await balance();
    const response = await call('getReputationSummary', { agentId: 3 });
    expect(response.status).toBe(200);
    const answer = (await response.json()) as { taskId: string };
    expect(answer).toMatchObject({
      tool: 'getReputationSummary',
      toolVersion: '1.0.0',
      costMicroUsdc: '10000',
      costDisplay: '0.01 USDC',
      charged: true,
      result: { agent_id: 3 },
    });
    expect(before! - (await balance())!).toBe(10_000n);
    const task = await suite.gateway.app.request(`/v1/tasks/${answer.taskId}`, { headers: { authorization: `Bearer ${suite.key}` } });
    expect(await task.json()).toMatchObject({ id: answer.taskId, state: 'completed', metadata: { charged: true } });
  });

  it('the same Idempotency-Key is the same call: one task, charged once', async () => {
    const key = randomUUID();
    const before = await balance();
    const answers = await Promise.all(Array.from({ length: 5 }, () => call('getAgentProfile', { agentId: 2 }, { 'idempotency-key': key })));
    const ids = new Set(await Promise.all(answers.map(async (answer) => ((await answer.json()) as { taskId: string }).taskId)));
    expect(ids.size).toBe(1);
    expect(before! - (await balance())!).toBe(1_000n);
  });

  it('?version names a version or a range', async () => {
    expect((await call('getAgentProfile', { agentId: 1 }, {}, '?version=%5E1')).status).toBe(200);
    const none = await call('getAgentProfile', { agentId: 1 }, {}, '?version=%5E2');
    expect(none.status).toBe(404);
    expect(await none.json()).toMatchObject({ error: { code: 'not_found', reason: 'no_matching_version' } });
  });
});

describe('errors, each free', () => {
  it('no key or a bad one: 401 with WWW-Authenticate', async () => {
    const missing = await suite.gateway.app.request('/v1/tools/getAgentProfile/call', { method: 'POST', body: '{"agentId":1}' });
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="a2a-paygate"');
    expect(await missing.json()).toMatchObject({ error: { code: 'unauthorized', reason: 'missing_api_key' } });
    expect((await call('getAgentProfile', { agentId: 1 }, { authorization: 'Bearer apg_nope' })).status).toBe(401);
  });

  it('an unknown tool is 404; bad arguments and an unknown agent are 400 with their reasons', async () => {
    const before = await balance();
    expect(await (await call('noSuchTool', {})).json()).toMatchObject({ error: { code: 'not_found', reason: 'unknown_tool' } });
    const bad = await call('getTrend', { agentId: 1, period: '9000d' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: 'invalid_request', reason: 'invalid_arguments' } });
    const unknownAgent = await call('getAgentProfile', { agentId: 987_654 });
    expect(unknownAgent.status).toBe(400);
    expect(await unknownAgent.json()).toMatchObject({ error: { reason: 'agent_not_found', details: { agentId: '987654' } } });
    // the same key again gets the same answer: the failed call's task, still 400
    const key = randomUUID();
    for (let i = 0; i < 2; i++) {
      const again = await call('getAgentProfile', { agentId: 987_654 }, { 'idempotency-key': key });
      expect(again.status).toBe(400);
      expect(await again.json()).toMatchObject({
        error: { reason: 'agent_not_found', details: { agentId: '987654', taskId: expect.any(String) } },
      });
    }
    expect((await call('getAgentProfile', '{"agentId":')).status).toBe(400);
    expect((await call('getAgentProfile', [1, 2])).status).toBe(400);
    expect(await balance()).toBe(before);
  });

  it('insufficient credits: 409 with the price and what is available', async () => {
    const poor = await suite.gateway.createOrg({ credits: 500n });
    const response = await call('getAgentProfile', { agentId: 1 }, { authorization: `Bearer ${poor.apiKey.key}` });
    expect(response.status).toBe(409);
    expect(await response.json()).toMatchObject({
      error: { reason: 'insufficient_credits', details: { required: '1000', available: '500' } },
    });
    expect(await balance(poor.orgId)).toBe(500n);
  });

  it("a tool outside the key's policy is 403; over its rate limit 429 with Retry-After", async () => {
    const scoped = await createApiKey(suite.gateway.database.db, { orgId: suite.org.orgId, name: 'scoped', by: OPERATOR });
    await updateKeyPolicy(suite.gateway.database.db, {
      keyId: scoped.id,
      patch: { tools: ['getTrend'], rateLimit: { requests: 1, windowSeconds: 3600 } },
      by: OPERATOR,
    });
    const refused = await call('getAgentProfile', { agentId: 1 }, { authorization: `Bearer ${scoped.key}` });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ error: { reason: 'tool_not_allowed', details: { allowedTools: ['getTrend'] } } });
    const limited = await call('getTrend', { agentId: 1 }, { authorization: `Bearer ${scoped.key}` });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    const body = (await limited.json()) as { error: { details: Record<string, unknown> } };
    expect(body).toMatchObject({
      error: { code: 'rate_limited', reason: 'rate_limited', details: { retryAfterSeconds: expect.any(Number) } },
    });
    expect(body.error.details.reason).toBeUndefined();
  });

  it('an Idempotency-Key reused for another tool is 409; a malformed one 400', async () => {
    const key = randomUUID();
    expect((await call('getAgentProfile', { agentId: 1 }, { 'idempotency-key': key })).status).toBe(200);
    const before = await balance();
    const reused = await call('getTrend', { agentId: 1 }, { 'idempotency-key': key });
    expect(reused.status).toBe(409);
    expect(await reused.json()).toMatchObject({ error: { reason: 'idempotency_key_reused', details: { usedFor: 'getAgentProfile' } } });
    const malformed = await call('getTrend', { agentId: 1 }, { 'idempotency-key': 'has space' });
    expect(await malformed.json()).toMatchObject({ error: { reason: 'invalid_idempotency_key' } });
    expect(await balance()).toBe(before);
  });

  it('a body over 16 KB is 413', async () => {
    const response = await call('getAgentProfile', { agentId: 1, pad: 'x'.repeat(17 * 1024) });
    expect(response.status).toBe(413);
  });
});

describe('documented', () => {
  it('is in /openapi.json with its API key security and its refusals', async () => {
    const document = (await (await suite.gateway.app.request('/openapi.json')).json()) as {
      paths: Record<string, Record<string, { security: unknown; responses: Record<string, unknown> }>>;
    };
    const operation = document.paths['/v1/tools/{name}/call']?.post;
    expect(operation?.security).toEqual([{ apiKey: [] }]);
    expect(Object.keys(operation?.responses ?? {})).toEqual(
      expect.arrayContaining(['200', '400', '401', '403', '404', '409', '413', '429', '502']),
    );
  });
});

describe('every call held (SETTLEMENT=hold)', () => {
  const held = useSeededGateway({ gateway: { settlement: 'hold' }, org: { credits: 1_000_000n } });

  it('concurrent sends of one Idempotency-Key all get the one answer, charged once', async () => {
    const key = randomUUID();
    const answers = await Promise.all(
      Array.from({ length: 5 }, () =>
        held.gateway.app.request('/v1/tools/getAgentProfile/call', {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${held.key}`, 'idempotency-key': key },
          body: JSON.stringify({ agentId: 4 }),
        }),
      ),
    );
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200]);
    const ids = new Set(await Promise.all(answers.map(async (answer) => ((await answer.json()) as { taskId: string }).taskId)));
    expect(ids.size).toBe(1);
    expect((await getCreditAccount(held.gateway.database.db, held.org.orgId))?.balance).toBe(999_000n);
  });
});
