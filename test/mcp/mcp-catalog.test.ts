import { randomBytes } from 'node:crypto';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewOrganization } from '../../src/auth/organizations.js';
import { getCreditAccount } from '../../src/billing/accounts.js';
import { catalogToolName, seedCatalog } from '../helpers/catalog-seed.js';
import { createTestDatabase } from '../helpers/database.js';
import { checkLedgerAfterEach, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import type { LoopbackServer } from '../helpers/loopback.js';
import { connectMcp } from '../helpers/mcp-client.js';
import { answerJson, startRecordingUpstream } from '../helpers/recording-upstream.js';
import { waitFor } from '../helpers/wait.js';

/** A provider's catalog tool over MCP: listed with its output schema, called against a real upstream, its earnings credited. */
const ADMIN_TOKEN = randomBytes(24).toString('hex');
const PRICE = 5_000n;

describe('catalog tools over MCP', () => {
  let upstream: LoopbackServer;
  let gateway: TestGateway;
  let caller: NewOrganization;
  let provider: NewOrganization;
  let client: Client;

  beforeAll(async () => {
    upstream = await startRecordingUpstream((req, res) => {
      const city = (JSON.parse(req.body || '{}') as { arguments?: { city?: string } }).arguments?.city ?? '?';
      if (req.path === '/weather') return answerJson(res, 200, { city, tempC: 21.5 });
      return answerJson(res, 503, { error: 'busy' });
    });
    gateway = await startTestGateway({ operator: { adminToken: ADMIN_TOKEN, secretsKey: randomBytes(32) } });
    await gateway.listen();
    caller = await gateway.createOrg({ name: 'caller', credits: 1_000_000n });
    provider = await gateway.createOrg({ name: 'provider', credits: 0n });
    for (const [name, path] of [
      ['weatherNow', '/weather'],
      ['weather-broken', '/down'],
    ]) {
      const response = await fetch(`${gateway.baseUrl}/admin/v1/tools`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
        body: JSON.stringify({
          name,
          version: '1.2.0',
          description: 'Current weather of a city',
          tier: 0,
          priceMicroUsdc: PRICE.toString(),
          settlement: 'instant',
          providerOrgId: provider.orgId,
          argumentsSchema: {
            type: 'object',
            properties: { city: { type: 'string', minLength: 1 } },
            required: ['city'],
            additionalProperties: false,
          },
          resultSchema: { type: 'object', properties: { city: { type: 'string' }, tempC: { type: 'number' } }, required: ['tempC'] },
          upstream: { url: `${upstream.baseUrl}${path}`, timeoutMs: 5_000 },
        }),
      });
      expect(response.status, await response.clone().text()).toBe(201);
    }
    client = await connectMcp(gateway.baseUrl, { apiKey: caller.apiKey.key });
    await waitFor(
      async () => (await client.listTools()).tools.some((tool) => tool.name === 'weather-broken'),
      'the catalog tools to be listed',
    );
  });
  afterAll(async () => {
    await client?.close();
    await gateway?.close();
    await upstream?.close();
  });
  checkLedgerAfterEach(() => [gateway]);

  it('are listed beside the built-in tools, with their output schema, price and version', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name)).toEqual([
      'getAgentProfile',
      'getMyFeedbacks',
      'getReputationSummary',
      'getTrend',
      'getValidationHistory',
      'weather-broken',
      'weatherNow',
    ]);
    expect(tools.find((tool) => tool.name === 'weatherNow')).toMatchObject({
      title: 'Weather now',
      description: 'Tier 0 (Raw Data): 0.005 USDC per call, charged only when it answers. Current weather of a city',
      inputSchema: { type: 'object', required: ['city'] },
      outputSchema: { type: 'object', required: ['tempC'] },
      annotations: { openWorldHint: true },
      _meta: { priceMicroUsdc: '5000', version: '1.2.0', settlement: 'instant' },
    });
  });

  it('a call is answered from the upstream (the SDK checks it against the output schema), charged its price, and the provider earns its share', async () => {
    const result = await client.callTool({ name: 'weatherNow', arguments: { city: 'Lisbon' }, _meta: { version: '^1' } });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toEqual({ city: 'Lisbon', tempC: 21.5 });
    expect(result._meta).toMatchObject({ toolVersion: '1.2.0', charged: true, costMicroUsdc: '5000', balanceMicroUsdc: '995000' });
    // PLATFORM_FEE_BPS 1,000: the provider earns 90 %
    expect((await getCreditAccount(gateway.database.db, provider.orgId))?.balance).toBe(4_500n);
  });

  it('an upstream that fails is a free isError result naming the upstream, not the caller’s fault', async () => {
    const before = await getCreditAccount(gateway.database.db, caller.orgId);
    const result = await client.callTool({ name: 'weather-broken', arguments: { city: 'Porto' } });
    expect(result.isError).toBe(true);
    expect(result._meta).toMatchObject({ reason: 'upstream_failed', state: 'failed', charged: false, details: { status: 503 } });
    expect(await getCreditAccount(gateway.database.db, caller.orgId)).toEqual(before);
  });

  it('over plain HTTP (POST /v1/tools/{name}/call) the same failure is 502 tool_failed, naming the task, and free', async () => {
    const before = await getCreditAccount(gateway.database.db, caller.orgId);
    const response = await fetch(`${gateway.baseUrl}/v1/tools/weather-broken/call`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${caller.apiKey.key}` },
      body: JSON.stringify({ city: 'Porto' }),
    });
    expect(response.status).toBe(502);
    expect(await response.json()).toMatchObject({
      error: { code: 'tool_failed', reason: 'upstream_failed', details: { taskId: expect.any(String), status: 503 } },
    });
    expect(await getCreditAccount(gateway.database.db, caller.orgId)).toEqual(before);
    const answered = await fetch(`${gateway.baseUrl}/v1/tools/weatherNow/call`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${caller.apiKey.key}` },
      body: JSON.stringify({ city: 'Faro' }),
    });
    expect(await answered.json()).toMatchObject({
      tool: 'weatherNow',
      toolVersion: '1.2.0',
      costMicroUsdc: '5000',
      result: { city: 'Faro' },
    });
  });

  it('arguments that do not fit the provider’s schema are refused before the upstream is called', async () => {
    const result = await client.callTool({ name: 'weatherNow', arguments: { city: '' } });
    expect(result.isError).toBe(true);
    expect(result._meta).toMatchObject({ reason: 'invalid_arguments', charged: false });
  });
});

describe('a large catalog over MCP', () => {
  const SEEDED = 250;
  let gateway: TestGateway;
  let client: Client;

  beforeAll(async () => {
    const database = await createTestDatabase();
    await seedCatalog(database.db, SEEDED);
    gateway = await startTestGateway({ database, operator: { adminToken: ADMIN_TOKEN, secretsKey: randomBytes(32) } });
    await gateway.listen();
    const org = await gateway.createOrg({ credits: 0n });
    client = await connectMcp(gateway.baseUrl, { apiKey: org.apiKey.key });
    await waitFor(async () => (await client.listTools()).tools.length === 100, 'the seeded catalog to be read');
  });
  afterAll(async () => {
    await client?.close();
    await gateway?.close();
    await gateway?.database.dispose();
  });

  it('tools/list pages 100 tools at a time by name; following nextCursor lists every tool once', async () => {
    const names: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await client.listTools(cursor === undefined ? {} : { cursor });
      names.push(...page.tools.map((tool) => tool.name));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor !== undefined);
    expect(pages).toBe(3);
    expect(names).toHaveLength(SEEDED + 5);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual([...names].sort());
    expect(names).toContain(catalogToolName(SEEDED));
  });
});
