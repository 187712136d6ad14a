import { randomUUID } from 'node:crypto';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATOR } from '../../src/audit/record.js';
import { createApiKey } from '../../src/auth/api-keys.js';
import { getCreditAccount } from '../../src/billing/accounts.js';
import { updateKeyPolicy } from '../../src/policies/store.js';
import { connectMcp } from '../helpers/mcp-client.js';
import { useSeededGateway } from '../helpers/seeded-gateway.js';

const suite = useSeededGateway({ org: { credits: 1_000_000n }, listen: true });
let client: Client;

beforeAll(async () => {
  client = await connectMcp(suite.baseUrl, { apiKey: suite.key });
});
afterAll(async () => {
  await client?.close();
});

const balanceOf = async (orgId: string) => (await getCreditAccount(suite.gateway.database.db, orgId))?.balance;

describe('tools/list', () => {
  it('lists every enabled tool the key may call, with its argument schema, a title, and its tier and price in the description and _meta', async () => {
    const { tools, nextCursor } = await client.listTools();
    expect(nextCursor).toBeUndefined();
    // getReputationReport is disabled without an LLM, so it is not callable and not listed
    expect(tools.map((tool) => tool.name).sort()).toEqual(
      ['getAgentProfile', 'getMyFeedbacks', 'getReputationSummary', 'getTrend', 'getValidationHistory'].sort(),
    );
    const trend = tools.find((tool) => tool.name === 'getTrend');
    expect(trend).toMatchObject({
      title: 'Get trend',
      inputSchema: { type: 'object', required: ['agentId'], additionalProperties: false },
      _meta: { priceMicroUsdc: '10000', priceUsdc: '0.01', tier: 1, settlement: 'instant', version: '1.0.0' },
      annotations: { readOnlyHint: true },
    });
    expect(trend?.description).toMatch(
      /^Tier 1 \(Aggregated\): 0\.01 USDC per call, charged only when it answers\. Reputation score over time/,
    );
    expect(Object.keys(trend?.inputSchema.properties ?? {})).toEqual(['agentId', 'period']);
  });

  it("applies the key's policy: a key limited to some tools, or to a tier, sees only those", async () => {
    const scoped = await createApiKey(suite.gateway.database.db, { orgId: suite.org.orgId, name: 'scoped', by: OPERATOR });
    await updateKeyPolicy(suite.gateway.database.db, { keyId: scoped.id, patch: { tools: ['getTrend', 'getAgentProfile'] }, by: OPERATOR });
    const tiered = await createApiKey(suite.gateway.database.db, { orgId: suite.org.orgId, name: 'tier 0', by: OPERATOR });
    await updateKeyPolicy(suite.gateway.database.db, { keyId: tiered.id, patch: { maxTier: 0 }, by: OPERATOR });
    for (const [key, expected] of [
      [scoped.key, ['getAgentProfile', 'getTrend']],
      [tiered.key, ['getAgentProfile', 'getMyFeedbacks']],
    ] as const) {
      const other = await connectMcp(suite.baseUrl, { apiKey: key });
      try {
        expect((await other.listTools()).tools.map((tool) => tool.name)).toEqual(expected);
      } finally {
        await other.close();
      }
    }
  });
});

describe('tools/call', () => {
  it('answers structuredContent and its JSON text, and moves the balance by exactly the price; the task is in the billing API', async () => {
    const before = await balanceOf(suite.org.orgId);
    const result = CallToolResultSchema.parse(await client.callTool({ name: 'getReputationSummary', arguments: { agentId: 3 } }));
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ agent_id: 3 });
    expect(JSON.parse((result.content[0] as { text: string }).text)).toEqual(result.structuredContent);
    const after = await balanceOf(suite.org.orgId);
    expect(before! - after!).toBe(10_000n);
    expect(result._meta).toMatchObject({
      state: 'completed',
      tool: 'getReputationSummary',
      toolVersion: '1.0.0',
      charged: true,
      costMicroUsdc: '10000',
      costUsdc: '0.01 USDC',
      balanceMicroUsdc: String(after),
    });

    const taskId = result._meta?.taskId as string;
    const task = await suite.gateway.app.request(`/v1/tasks/${taskId}`, { headers: { authorization: `Bearer ${suite.key}` } });
    expect(task.status).toBe(200);
    expect(await task.json()).toMatchObject({
      id: taskId,
      tool: 'getReputationSummary',
      state: 'completed',
      metadata: { cost_micro_usdc: '10000', charged: true },
    });
  });

  it('a retry with the same _meta.idempotencyKey is the same call: one task, charged once', async () => {
    const idempotencyKey = randomUUID();
    const before = await balanceOf(suite.org.orgId);
    const first = await client.callTool({ name: 'getAgentProfile', arguments: { agentId: 2 }, _meta: { idempotencyKey } });
    const again = await client.callTool({ name: 'getAgentProfile', arguments: { agentId: 2 }, _meta: { idempotencyKey } });
    const concurrent = await Promise.all(
      Array.from({ length: 10 }, () => client.callTool({ name: 'getAgentProfile', arguments: { agentId: 2 }, _meta: { idempotencyKey } })),
    );
    for (const result of [again, ...concurrent]) {
      expect(result._meta?.taskId).toBe(first._meta?.taskId);
      expect(result.structuredContent).toEqual(first.structuredContent);
    }
    expect(before! - (await balanceOf(suite.org.orgId))!).toBe(1_000n);
  });

  it('without an idempotency key every call is its own, charged each time', async () => {
    const before = await balanceOf(suite.org.orgId);
    const first = await client.callTool({ name: 'getAgentProfile', arguments: { agentId: 2 } });
    const second = await client.callTool({ name: 'getAgentProfile', arguments: { agentId: 2 } });
    expect(first._meta?.taskId).not.toBe(second._meta?.taskId);
    expect(before! - (await balanceOf(suite.org.orgId))!).toBe(2_000n);
  });

  it('_meta.version names the version of a built-in tool (1.0.0, or a range it satisfies)', async () => {
    const result = await client.callTool({ name: 'getAgentProfile', arguments: { agentId: 1 }, _meta: { version: '^1' } });
    expect(result._meta).toMatchObject({ toolVersion: '1.0.0', charged: true });
  });
});

describe('resources', () => {
  it('lists the price list and the agent card', async () => {
    const { resources } = await client.listResources();
    expect(resources.map((resource) => resource.uri)).toEqual(['a2a-paygate://price-list', 'a2a-paygate://agent-card']);
  });

  it('the price list names each tier and each tool the key may call with its price', async () => {
    const { contents } = await client.readResource({ uri: 'a2a-paygate://price-list' });
    const list = JSON.parse((contents[0] as { text: string }).text);
    expect(list.tiers).toEqual([
      { tier: 0, name: 'Raw Data', priceMicroUsdc: '1000' },
      { tier: 1, name: 'Aggregated', priceMicroUsdc: '10000' },
      { tier: 2, name: 'Analysis', priceMicroUsdc: null },
      { tier: 3, name: 'AI-Powered', priceMicroUsdc: '200000' },
    ]);
    expect(list.tools).toContainEqual({
      name: 'getAgentProfile',
      version: '1.0.0',
      tier: 0,
      priceMicroUsdc: '1000',
      priceUsdc: '0.001',
      settlement: 'instant',
    });
  });

  it('the agent card is the one served at /.well-known/agent-card.json', async () => {
    const { contents } = await client.readResource({ uri: 'a2a-paygate://agent-card' });
    const served = await (await fetch(`${suite.baseUrl}/.well-known/agent-card.json`)).json();
    expect(JSON.parse((contents[0] as { text: string }).text)).toEqual(served);
  });
});
