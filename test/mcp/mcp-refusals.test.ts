import { randomUUID } from 'node:crypto';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { OPERATOR } from '../../src/audit/record.js';
import { createApiKey } from '../../src/auth/api-keys.js';
import { getCreditAccount } from '../../src/billing/accounts.js';
import type { KeyPolicyPatch } from '../../src/policies/policy.js';
import { updateKeyPolicy } from '../../src/policies/store.js';
import { connectMcp } from '../helpers/mcp-client.js';
import { useSeededGateway } from '../helpers/seeded-gateway.js';

const suite = useSeededGateway({ org: { credits: 1_000_000n }, listen: true });
const clients: Client[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
});

async function clientFor(apiKey: string): Promise<Client> {
  const client = await connectMcp(suite.baseUrl, { apiKey });
  clients.push(client);
  return client;
}

async function keyWith(patch: KeyPolicyPatch, orgId = suite.org.orgId): Promise<string> {
  const key = await createApiKey(suite.gateway.database.db, { orgId, name: 'policy', by: OPERATOR });
  await updateKeyPolicy(suite.gateway.database.db, { keyId: key.id, patch, by: OPERATOR });
  return key.key;
}

const account = async (orgId: string) => getCreditAccount(suite.gateway.database.db, orgId);

const taskCount = async (orgId: string) =>
  (
    await suite.gateway.database.db.rows(z.object({ n: z.coerce.number() }), sql`select count(*) as n from tasks where org_id = ${orgId}`)
  )[0]?.n;

/** The text of a result's first content block (callTool's type also allows a legacy toolResult shape). */
const textOf = (result: unknown) => (result as { content: { text: string }[] }).content[0]?.text;

describe('refusals are tool results with isError, whose text says why, and cost nothing', () => {
  it('insufficient credits: the text gives the price and what is available', async () => {
    const poor = await suite.gateway.createOrg({ credits: 500n });
    const result = await (await clientFor(poor.apiKey.key)).callTool({ name: 'getAgentProfile', arguments: { agentId: 1 } });
    expect(result.isError).toBe(true);
    expect(result._meta).toMatchObject({ reason: 'insufficient_credits', details: { required: '1000', available: '500' }, charged: false });
    expect(textOf(result)).toBe(
      'insufficient_credits: Insufficient credits (this call costs 0.001 USDC (1000 micro-USDC) and 0.0005 USDC (500 micro-USDC) is available). Nothing was charged.',
    );
    expect(await account(poor.orgId)).toMatchObject({ balance: 500n, reserved: 0n });
    expect(await taskCount(poor.orgId)).toBe(0);
  });

  it("a spend cap: the key's daily cap, what it has spent, and when it resets", async () => {
    const client = await clientFor(await keyWith({ spendCap: { amountMicroUsdc: 1_500n, period: 'day' } }));
    expect((await client.callTool({ name: 'getAgentProfile', arguments: { agentId: 1 } })).isError).toBeFalsy();
    const before = await account(suite.org.orgId);
    const refused = await client.callTool({ name: 'getAgentProfile', arguments: { agentId: 1 } });
    expect(refused.isError).toBe(true);
    expect(refused._meta).toMatchObject({
      reason: 'spend_cap_exceeded',
      details: { scope: 'key', cap: '1500', spent: '1000', required: '1000' },
    });
    expect(textOf(refused)).toMatch(
      /^spend_cap_exceeded: Spend cap reached: the key's daily cap cannot cover this call \(cap 1500 micro-USDC, 1000 spent and 0 held this day, this call needs 1000; it resets at \d{4}-\d\d-\d\dT00:00:00\.000Z\)\. Nothing was charged\.$/,
    );
    expect(await account(suite.org.orgId)).toEqual(before);
  });

  it("a tool outside the key's policy: the text names the tools it may call", async () => {
    const client = await clientFor(await keyWith({ tools: ['getTrend'] }));
    const result = await client.callTool({ name: 'getAgentProfile', arguments: { agentId: 1 } });
    expect(result.isError).toBe(true);
    expect(result._meta).toMatchObject({ reason: 'tool_not_allowed', details: { tool: 'getAgentProfile', allowedTools: ['getTrend'] } });
    expect(textOf(result)).toContain('this key may call: getTrend');
  });

  it('bad arguments: each problem by path, before the tool runs', async () => {
    const before = await account(suite.org.orgId);
    const result = await (await clientFor(suite.key)).callTool({
      name: 'getTrend',
      arguments: { agentId: 1, period: '9000d', extra: true },
    });
    expect(result.isError).toBe(true);
    expect(result._meta).toMatchObject({ reason: 'invalid_arguments', charged: false });
    expect(textOf(result)).toMatch(/^invalid_arguments: arguments do not fit getTrend \(.*period.*\)/);
    expect(await account(suite.org.orgId)).toEqual(before);
  });

  it('an unknown agent: the tool ran and found none; its failed task is named, and free', async () => {
    const before = await account(suite.org.orgId);
    const result = await (await clientFor(suite.key)).callTool({ name: 'getReputationSummary', arguments: { agentId: 987_654 } });
    expect(result.isError).toBe(true);
    expect(result._meta).toMatchObject({ reason: 'agent_not_found', details: { agentId: '987654' } });
    expect(textOf(result)).toBe('agent_not_found: agent 987654 is not registered. Nothing was charged.');
    const taskId = (result._meta?.details as { taskId?: string } | undefined)?.taskId;
    const task = await suite.gateway.app.request(`/v1/tasks/${taskId}`, { headers: { authorization: `Bearer ${suite.key}` } });
    expect(await task.json()).toMatchObject({ state: 'failed', metadata: { charged: false } });
    expect(await account(suite.org.orgId)).toEqual(before);
  });

  it('the rate limit: refused with when to try again, and free', async () => {
    const client = await clientFor(await keyWith({ rateLimit: { requests: 2, windowSeconds: 3600 } }));
    for (let i = 0; i < 2; i++) expect((await client.callTool({ name: 'getAgentProfile', arguments: { agentId: 1 } })).isError).toBeFalsy();
    const before = await account(suite.org.orgId);
    const result = await client.callTool({ name: 'getAgentProfile', arguments: { agentId: 1 } });
    expect(result.isError).toBe(true);
    expect(result._meta).toMatchObject({
      reason: 'rate_limited',
      details: { limits: [{ policy: 'key', requests: 2, windowSeconds: 3600 }] },
    });
    expect(textOf(result)).toMatch(
      /^rate_limited: too many calls for this API key or its organization, limited to 2 calls per 3600 s \(key\); try again in \d+ s\. Nothing was charged\.$/,
    );
    expect(await account(suite.org.orgId)).toEqual(before);
    // listing is not a paid call: the limit does not count it
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
  });
});

describe('protocol errors', () => {
  it.each([
    ['an unknown tool', { name: 'noSuchTool', arguments: {} }, 'unknown_tool'],
    [
      'a version no release satisfies',
      { name: 'getAgentProfile', arguments: { agentId: 1 }, _meta: { version: '^2' } },
      'no_matching_version',
    ],
    [
      'a version that is not semver',
      { name: 'getAgentProfile', arguments: { agentId: 1 }, _meta: { version: 'latest!' } },
      'invalid_version',
    ],
  ])('%s is -32602 with its reason, as MCP has it for a tool that does not exist', async (_, call, reason) => {
    const error = await (await clientFor(suite.key)).callTool(call).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(McpError);
    expect(error).toMatchObject({ code: -32602, data: { reason } });
  });

  it('an idempotency key over 200 characters, or not a string, is -32602 before anything runs', async () => {
    const client = await clientFor(suite.key);
    for (const idempotencyKey of ['k'.repeat(201), 42]) {
      const error = await client
        .callTool({ name: 'getAgentProfile', arguments: { agentId: 1 }, _meta: { idempotencyKey } })
        .catch((caught: unknown) => caught);
      expect(error).toMatchObject({ code: -32602, data: { reason: 'invalid_params' } });
    }
  });

  it('a resource that does not exist is -32002', async () => {
    const error = await (await clientFor(suite.key)).readResource({ uri: 'a2a-paygate://nothing' }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: -32002 });
  });

  it('a cursor that is not one this server gave, or an oversized one, is -32602', async () => {
    const client = await clientFor(suite.key);
    for (const cursor of ['!!!notbase64', 'x'.repeat(257), '']) {
      await expect(client.listTools({ cursor }), cursor).rejects.toMatchObject({ code: -32602, data: { reason: 'invalid_params' } });
    }
  });

  it('text PostgreSQL cannot store (U+0000) is refused before anything runs: in the arguments a free isError, in _meta -32602', async () => {
    const client = await clientFor(suite.key);
    const before = await account(suite.org.orgId);
    const inArguments = await client.callTool({ name: 'getTrend', arguments: { agentId: 1, period: '30d\u0000' } });
    expect(inArguments.isError).toBe(true);
    expect(inArguments._meta).toMatchObject({ reason: 'unsupported_input', details: { issues: [{ path: 'period' }] } });
    const inMeta = await client
      .callTool({ name: 'getTrend', arguments: { agentId: 1 }, _meta: { idempotencyKey: 'free\u0000' } })
      .catch((caught: unknown) => caught);
    expect(inMeta).toMatchObject({ code: -32602, data: { reason: 'unsupported_input', issues: [{ path: 'idempotencyKey' }] } });
    expect((inMeta as Error).message).not.toMatch(/select|insert|query/i);
    expect(await account(suite.org.orgId)).toEqual(before);
  });

  it('an idempotency key already used for another tool is refused, not answered with that call', async () => {
    const client = await clientFor(suite.key);
    const idempotencyKey = randomUUID();
    expect((await client.callTool({ name: 'getAgentProfile', arguments: { agentId: 1 }, _meta: { idempotencyKey } })).isError).toBeFalsy();
    const before = await account(suite.org.orgId);
    const reused = await client.callTool({ name: 'getTrend', arguments: { agentId: 1 }, _meta: { idempotencyKey } });
    expect(reused.isError).toBe(true);
    expect(reused._meta).toMatchObject({ reason: 'idempotency_key_reused', details: { usedFor: 'getAgentProfile', asked: 'getTrend' } });
    expect(reused.structuredContent).toBeUndefined();
    expect(await account(suite.org.orgId)).toEqual(before);
  });

  it('an error message is the reason alone, not prefixed by the SDK', async () => {
    const error = await (await clientFor(suite.key)).callTool({ name: 'noSuchTool', arguments: {} }).catch((caught: unknown) => caught);
    // the client adds its own "MCP error -32602: " once
    expect((error as Error).message).toBe('MCP error -32602: unknown tool "noSuchTool"');
  });

  it('the same idempotency key from two organizations is two calls: each is charged, neither sees the other’s', async () => {
    const other = await suite.gateway.createOrg({ credits: 100_000n });
    const idempotencyKey = randomUUID();
    const mine = await (await clientFor(suite.key)).callTool({
      name: 'getAgentProfile',
      arguments: { agentId: 1 },
      _meta: { idempotencyKey },
    });
    const theirs = await (await clientFor(other.apiKey.key)).callTool({
      name: 'getAgentProfile',
      arguments: { agentId: 2 },
      _meta: { idempotencyKey },
    });
    expect(theirs._meta?.taskId).not.toBe(mine._meta?.taskId);
    expect(theirs.structuredContent).toMatchObject({ agent_id: 2 });
    expect(await account(other.orgId)).toMatchObject({ balance: 99_000n });
  });
});
