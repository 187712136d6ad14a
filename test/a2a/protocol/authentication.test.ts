/**
 * 401 on POST /a2a: missing, malformed, unknown, revoked and expired keys; the answer is a JSON-RPC
 * error echoing the request id where one can be read, and nothing runs.
 */
import { describe, expect, it } from 'vitest';
import { OPERATOR } from '../../../src/audit/record.js';
import { createApiKey, revokeApiKey } from '../../../src/auth/api-keys.js';
import { expectResult, type RpcAnswer, request, toolCall, v1Data, v1Send } from '../support.js';
import { useProtocolSuite } from './suite.js';

const { suite, rpc, moneyOf } = useProtocolSuite();

describe('401: authentication', () => {
  /** A 401 echoes the request's id, as any answer to a request that could be read does. */
  async function expectUnauthorized(response: Response, reason: 'missing_api_key' | 'invalid_api_key', id: RpcAnswer['id']) {
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer\b/);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    const body = (await response.json()) as RpcAnswer;
    expect(body).toMatchObject({ jsonrpc: '2.0', id, error: { code: -32000, data: { reason } } });
    expect(typeof body.error?.message).toBe('string');
  }

  it.each([
    ['no Authorization header', undefined, 'missing_api_key'],
    ['a Basic credential', 'Basic dXNlcjpwYXNz', 'missing_api_key'],
    ['"Bearer" with no key', 'Bearer ', 'missing_api_key'],
    ['a key without the apg_ prefix', 'Bearer sk_live_0123456789', 'invalid_api_key'],
    ['an unknown apg_ key', 'Bearer apg_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'invalid_api_key'],
  ] as const)('%s → 401, WWW-Authenticate, JSON-RPC error body with the request id', async (_name, authorization, reason) => {
    const body = request('ListTasks', {});
    const response = await suite.gateway.app.request('/a2a', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      body: JSON.stringify(body),
    });
    await expectUnauthorized(response, reason, body.id as number);
  });

  it('a 401 echoes a string id too; a body that is no single request (not JSON, a batch) gets id null', async () => {
    await expectUnauthorized(await suite.gateway.rpc({ jsonrpc: '2.0', id: 'ask-1', method: 'ListTasks' }), 'missing_api_key', 'ask-1');
    await expectUnauthorized(await suite.gateway.rpc('{"jsonrpc":"2.0","id":7,'), 'missing_api_key', null);
    await expectUnauthorized(await suite.gateway.rpc([request('ListTasks', {})]), 'missing_api_key', null);
    await expectUnauthorized(
      await suite.gateway.rpc({ jsonrpc: '2.0', id: { no: 'object ids' }, method: 'ListTasks' }),
      'missing_api_key',
      null,
    );
    // an id too long to be one is not echoed: a caller without a key cannot make the answer repeat 100 KB
    await expectUnauthorized(
      await suite.gateway.rpc({ jsonrpc: '2.0', id: 'x'.repeat(90_000), method: 'ListTasks' }),
      'missing_api_key',
      null,
    );
  });

  it('a revoked key stops at once, and a paid call with it never reaches a tool', async () => {
    const own = await suite.gateway.createOrg({ name: 'revokes', credits: 100_000n });
    expectResult(await rpc('ListTasks', {}, own.apiKey.key));
    expect(await revokeApiKey(suite.gateway.database.db, { keyId: own.apiKey.id, by: OPERATOR })).toBe(true);

    const before = await moneyOf(own.orgId);
    const paid = request('SendMessage', v1Send([v1Data(toolCall('getAgentProfile', { agentId: 1 }))]));
    await expectUnauthorized(await suite.gateway.rpc(paid, own.apiKey.key), 'invalid_api_key', paid.id as number);
    const list = request('ListTasks', {});
    await expectUnauthorized(await suite.gateway.rpc(list, own.apiKey.key), 'invalid_api_key', list.id as number);
    expect(await moneyOf(own.orgId)).toEqual(before);
    expect(before.tasks).toBe(0);

    // another key of the same organization still works
    const second = await createApiKey(suite.gateway.database.db, { orgId: own.orgId, name: 'second', by: OPERATOR });
    expectResult(await rpc('ListTasks', {}, second.key));
  });

  it('an expired key → 401; a key expiring in the future works', async () => {
    const expired = await createApiKey(suite.gateway.database.db, {
      orgId: suite.org.orgId,
      name: 'expired',
      expiresAt: new Date(Date.now() - 60_000),
      by: OPERATOR,
    });
    await expectUnauthorized(
      await suite.gateway.rpc({ ...request('ListTasks', {}), id: 'expired' }, expired.key),
      'invalid_api_key',
      'expired',
    );
    const fresh = await createApiKey(suite.gateway.database.db, {
      orgId: suite.org.orgId,
      name: 'fresh',
      expiresAt: new Date(Date.now() + 3_600_000),
      by: OPERATOR,
    });
    expectResult(await rpc('ListTasks', {}, fresh.key));
  });
});
