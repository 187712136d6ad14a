import { randomBytes } from 'node:crypto';
import { Ajv2020 } from 'ajv/dist/2020.js';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CARD_CATALOG_SKILLS } from '../../src/a2a/card.js';
import { openLiveCatalog } from '../../src/catalog/live-catalog.js';
import { createToolRegistry } from '../../src/tools/registry.js';
import { catalogToolName, seedCatalog } from '../helpers/catalog-seed.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { expectDocumentedAnswer } from '../helpers/documented-answer.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Discovery of the tool catalog (issue 19) over real HTTP: GET /v1/tools searches the built-in and
 * the catalog tools alike (PostgreSQL full-text search), GET /v1/tools/openai gives the active ones
 * as OpenAI function definitions, the agent card has a skill per active tool; and at 10,000 catalog
 * tools the card stays under 1 MB while a call's lookup stays in memory.
 */

const ADMIN_TOKEN = randomBytes(24).toString('hex');
const BUILT_IN = ['getAgentProfile', 'getMyFeedbacks', 'getReputationReport', 'getReputationSummary', 'getTrend', 'getValidationHistory'];
const ACTIVE_BUILT_IN = BUILT_IN.filter((name) => name !== 'getReputationReport');
/** the card lists the built-in tools in the table's order, as it always has */
const CARD_BUILT_IN = ['getMyFeedbacks', 'getAgentProfile', 'getReputationSummary', 'getTrend', 'getValidationHistory'];

interface Version {
  version: string;
  status: string;
  tier: number;
  cost_micro_usdc: string;
  cost_display: string;
  settlement: string;
  deprecation_note?: string;
  arguments_schema: Record<string, unknown>;
  result_schema: Record<string, unknown> | null;
}
interface Tool extends Omit<Version, 'deprecation_note'> {
  name: string;
  built_in: boolean;
  tags: string[];
  description: string;
  enabled: boolean;
  versions: Version[];
}
interface Page {
  tools: Tool[];
  nextCursor: string | null;
}
interface OpenAiPage {
  tools: { type: string; function: { name: string; description: string; parameters: Record<string, unknown> } }[];
  omitted: unknown[];
  nextCursor: string | null;
}
interface Card {
  description: string;
  skills: { id: string; name: string; description: string; tags: string[] }[];
}

const manifest = (name: string, version: string, extra: Record<string, unknown> = {}) => ({
  name,
  version,
  description: `${name} ${version}`,
  tier: 0,
  settlement: 'instant',
  argumentsSchema: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] },
  upstream: { url: 'https://tools.example.com/run' },
  ...extra,
});

async function get(gateway: TestGateway, path: string): Promise<Response> {
  const url = `${gateway.baseUrl}${path}`;
  const response = await fetch(url);
  await expectDocumentedAnswer(gateway.app, 'GET', url, response);
  return response;
}
async function page<T = Page>(gateway: TestGateway, path: string): Promise<T> {
  const response = await get(gateway, path);
  expect(response.status, `${path}: ${await response.clone().text()}`).toBe(200);
  return (await response.json()) as T;
}
const names = (answer: Page) => answer.tools.map((tool) => tool.name);

describe('GET /v1/tools, /v1/tools/openai and the card over a small catalog', () => {
  let gateway: TestGateway;
  const admin = (path: string, body?: unknown) =>
    fetch(`${gateway.baseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  beforeAll(async () => {
    gateway = await startTestGateway({ operator: { adminToken: ADMIN_TOKEN, secretsKey: randomBytes(32) } });
    await gateway.listen();
    const registered = [
      manifest('weatherForecast', '1.0.0', {
        description: 'Daily weather forecast for a city, seven days ahead.',
        tags: ['weather', 'forecast'],
      }),
      manifest('weatherForecast', '1.1.0', {
        description: 'Hourly and daily weather forecast for a city, fourteen days ahead.',
        tags: ['weather', 'forecast'],
        priceMicroUsdc: 5_000,
        settlement: 'hold',
        resultSchema: { type: 'object', properties: { days: { type: 'array' } } },
      }),
      manifest('stockQuote', '1.0.0', { description: 'Delayed equity prices by ticker symbol.', tags: ['finance'], tier: 1 }),
      manifest('stockQuote', '2.0.0', { description: 'Real-time equity prices by ticker symbol.', tags: ['finance'], tier: 1 }),
      manifest('legacyLedger', '1.0.0', { description: 'An accounting export nobody may call any more.', tags: ['finance'] }),
      manifest('oldGeocoder', '1.0.0', { description: 'Turns street addresses into coordinates.', tags: ['maps'], tier: 3 }),
    ];
    for (const body of registered) expect((await admin('/admin/v1/tools', body)).status).toBe(201);
    expect((await admin('/admin/v1/tools/weatherForecast/versions/1.0.0/deprecate')).status).toBe(200);
    expect((await admin('/admin/v1/tools/stockQuote/versions/2.0.0/retire')).status).toBe(200);
    expect((await admin('/admin/v1/tools/legacyLedger/versions/1.0.0/retire')).status).toBe(200);
    expect((await admin('/admin/v1/tools/oldGeocoder/versions/1.0.0/deprecate')).status).toBe(200);
  });
  afterAll(async () => {
    await gateway?.close();
  });

  it('finds a tool by a word of its description, with its versions newest first, prices, settlement and schemas', async () => {
    const found = await page(gateway, '/v1/tools?q=forecast');
    expect(names(found)).toEqual(['weatherForecast']);
    const [tool] = found.tools;
    expect(tool).toMatchObject({
      built_in: false,
      version: '1.1.0',
      status: 'active',
      tier: 0,
      cost_micro_usdc: '5000',
      cost_display: '0.005 USDC',
      settlement: 'hold',
      enabled: true,
      tags: ['weather', 'forecast'],
      description: 'Hourly and daily weather forecast for a city, fourteen days ahead.',
      result_schema: { type: 'object', properties: { days: { type: 'array' } } },
    });
    expect(tool?.versions.map((version) => [version.version, version.status, version.cost_micro_usdc, version.settlement])).toEqual([
      ['1.1.0', 'active', '5000', 'hold'],
      ['1.0.0', 'deprecated', '1000', 'instant'],
    ]);
    expect(tool?.versions[1]?.deprecation_note).toBe('weatherForecast 1.0.0 is deprecated; 1.1.0 is the newest active version');
    expect(tool?.versions[1]?.arguments_schema).toEqual({ type: 'object', properties: { q: { type: 'string' } }, required: ['q'] });
    expect(tool?.versions[1]?.result_schema).toBeNull();
    // stemmed: "forecasts" finds it too; a phrase and an exclusion read as a web search box reads them
    expect(names(await page(gateway, '/v1/tools?q=forecasts'))).toEqual(['weatherForecast']);
    expect(names(await page(gateway, '/v1/tools?q=%22equity%20prices%22'))).toEqual(['stockQuote']);
    expect(names(await page(gateway, '/v1/tools?q=prices%20-equity'))).toEqual([]);
  });

  it('finds a name by a camel-case part, by a prefix, and whole; built-in tools by the same rules', async () => {
    expect(names(await page(gateway, '/v1/tools?q=quote'))).toEqual(['stockQuote']);
    expect(names(await page(gateway, '/v1/tools?q=stockQuote'))).toEqual(['stockQuote']);
    expect(names(await page(gateway, '/v1/tools?q=stockquote'))).toEqual(['stockQuote']);
    expect(names(await page(gateway, '/v1/tools?q=weatherFore'))).toEqual(['weatherForecast']);
    const profile = await page(gateway, '/v1/tools?q=agent%20profile');
    expect(names(profile)[0]).toBe('getAgentProfile');
    expect(profile.tools[0]).toMatchObject({ built_in: true, version: '1.0.0', cost_micro_usdc: '1000', status: 'active' });
    expect(profile.tools[0]?.arguments_schema).toMatchObject({ type: 'object', properties: { agentId: expect.any(Object) } });
    expect(names(await page(gateway, '/v1/tools?q=getValidationHistory'))).toEqual(['getValidationHistory']);
    expect(names(await page(gateway, '/v1/tools?q=getvalid'))).toEqual(['getValidationHistory']);
    // ranked: the name's words (weight A) before a mere mention in a description (B)
    expect(names(await page(gateway, '/v1/tools?q=reputation'))[0]).toMatch(/^getReputation/);
  });

  it('filters by tag and by tier, built-in tools included', async () => {
    expect(names(await page(gateway, '/v1/tools?tag=finance'))).toEqual(['stockQuote']);
    expect(names(await page(gateway, '/v1/tools?tag=erc-8004'))).toEqual(BUILT_IN);
    expect(names(await page(gateway, '/v1/tools?tier=1'))).toEqual([
      'getReputationSummary',
      'getTrend',
      'getValidationHistory',
      'stockQuote',
    ]);
    expect(names(await page(gateway, '/v1/tools?tier=3'))).toEqual(['getReputationReport', 'oldGeocoder']);
    expect(names(await page(gateway, '/v1/tools?tier=0&tag=forecast&q=city'))).toEqual(['weatherForecast']);
  });

  it('lists every tool by name a page at a time; a deprecated tool as such; retired versions and names not offered', async () => {
    const seen: Tool[] = [];
    let cursor: string | null = '';
    while (cursor !== null) {
      const answer: Page = await page(gateway, `/v1/tools?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(answer.tools.length).toBeLessThanOrEqual(3);
      seen.push(...answer.tools);
      cursor = answer.nextCursor;
    }
    expect(seen.map((tool) => tool.name)).toEqual([...BUILT_IN, 'oldGeocoder', 'stockQuote', 'weatherForecast']);
    const byName = new Map(seen.map((tool) => [tool.name, tool]));
    expect(byName.get('getReputationReport')).toMatchObject({ built_in: true, enabled: false, disabled_reason: expect.any(String) });
    expect(byName.get('oldGeocoder')).toMatchObject({ status: 'deprecated', version: '1.0.0', cost_micro_usdc: '200000' });
    expect(byName.get('oldGeocoder')?.versions[0]?.deprecation_note).toBe('oldGeocoder 1.0.0 is deprecated');
    expect(byName.get('stockQuote')?.versions.map((version) => version.version)).toEqual(['1.0.0']);
    expect(byName.get('stockQuote')?.description).toBe('Delayed equity prices by ticker symbol.');
    // the retired version's words do not find the name, nor a retired name anything
    expect(names(await page(gateway, '/v1/tools?q=real-time'))).toEqual([]);
    expect(names(await page(gateway, '/v1/tools?q=legacyLedger'))).toEqual([]);
    // ranked pages walk too
    const first = await page(gateway, '/v1/tools?q=agent&limit=2');
    expect(first.tools).toHaveLength(2);
    const rest = await page(gateway, `/v1/tools?q=agent&limit=100&cursor=${first.nextCursor}`);
    expect(new Set([...names(first), ...names(rest)]).size).toBe(names(first).length + names(rest).length);
    expect([...names(first), ...names(rest)]).toContain('getAgentProfile');
  });

  it('refuses a query it cannot read with the one error envelope, never a 500; search syntax is only ever words', async () => {
    const refused = async (path: string) => {
      const response = await get(gateway, path);
      expect(response.status, path).toBe(400);
      const { error } = (await response.json()) as { error: { code: string; reason: string } };
      expect(error, path).toMatchObject({ code: 'invalid_request', reason: 'invalid_query' });
    };
    await refused(`/v1/tools?q=${'a'.repeat(201)}`);
    await refused('/v1/tools?limit=0');
    await refused('/v1/tools?limit=101');
    await refused('/v1/tools?limit=ten');
    await refused('/v1/tools?tier=4');
    await refused('/v1/tools?tier=');
    await refused('/v1/tools?tag=Not%20A%20Tag');
    await refused('/v1/tools?cursor=not-ours');
    await refused('/v1/tools?sort=name');
    await refused('/v1/tools/openai?limit=129');
    // a ranked search's cursor is not a listing's, nor the other way round
    const ranked = await page(gateway, '/v1/tools?q=agent&limit=1');
    await refused(`/v1/tools?cursor=${ranked.nextCursor}`);
    const listed = await page(gateway, '/v1/tools?limit=1');
    await refused(`/v1/tools?q=agent&cursor=${listed.nextCursor}`);
    for (const q of ["'", '&', '!!', 'a:* | (b', '\\', '"', '-', 'or', ':*', '<->', `${'ü'.repeat(200)}`, '   ']) {
      const response = await get(gateway, `/v1/tools?q=${encodeURIComponent(q)}`);
      expect(response.status, q).toBe(200);
    }
    expect(names(await page(gateway, '/v1/tools?q=%20%20'))).toHaveLength(9);
  });

  it('GET /v1/tools/openai: a function definition of every active tool, parameters its argument schema', async () => {
    const answer = await page<OpenAiPage>(gateway, '/v1/tools/openai');
    expect(answer.nextCursor).toBeNull();
    expect(answer.omitted).toEqual([]);
    expect(answer.tools.map((tool) => tool.function.name)).toEqual([...ACTIVE_BUILT_IN, 'stockQuote', 'weatherForecast']);
    const ajv = new Ajv2020({ strict: false });
    for (const tool of answer.tools) {
      expect(Object.keys(tool).sort()).toEqual(['function', 'type']);
      expect(tool.type).toBe('function');
      expect(Object.keys(tool.function).sort()).toEqual(['description', 'name', 'parameters']);
      expect(tool.function.name).toMatch(/^[a-zA-Z0-9_-]{1,64}$/);
      expect(tool.function.description.length).toBeGreaterThan(0);
      expect(tool.function.parameters.type).toBe('object');
      expect(tool.function.parameters).not.toHaveProperty('$schema');
      expect(() => ajv.compile(tool.function.parameters)).not.toThrow();
    }
    const weather = answer.tools.find((tool) => tool.function.name === 'weatherForecast');
    expect(weather?.function.parameters).toEqual({ type: 'object', properties: { q: { type: 'string' } }, required: ['q'] });
    expect(weather?.function.description).toContain('0.005 USDC');
    // searchable and paged as /v1/tools
    expect((await page<OpenAiPage>(gateway, '/v1/tools/openai?q=geocoder')).tools).toEqual([]);
    const paged = await page<OpenAiPage>(gateway, '/v1/tools/openai?limit=4');
    expect(paged.tools).toHaveLength(4);
    const next = await page<OpenAiPage>(gateway, `/v1/tools/openai?limit=4&cursor=${paged.nextCursor}`);
    expect([...paged.tools, ...next.tools].map((tool) => tool.function.name)).toEqual(answer.tools.map((tool) => tool.function.name));
  });

  it('the agent card: a skill per active tool, the catalog’s trimmed to name, description, price and tags', async () => {
    await waitFor(async () => {
      const card = (await (await fetch(`${gateway.baseUrl}/.well-known/agent-card.json`)).json()) as Card;
      return card.skills.some((skill) => skill.id === 'weatherForecast');
    }, 'the live catalog');
    const card = (await (await fetch(`${gateway.baseUrl}/.well-known/agent-card.json`)).json()) as Card;
    expect(card.skills.map((skill) => skill.id)).toEqual([...CARD_BUILT_IN, 'stockQuote', 'weatherForecast']);
    expect(card.skills.find((skill) => skill.id === 'weatherForecast')).toEqual({
      id: 'weatherForecast',
      name: 'weatherForecast',
      description:
        'Hourly and daily weather forecast for a city, fourteen days ahead. Tier 0 (Raw Data), 0.005 USDC (5000 micro-USDC) per completed call.',
      tags: ['weather', 'forecast', 'tier-0', 'price-5000-micro-usdc'],
    });
    expect(card.description).toContain(`${gateway.baseUrl}/v1/tools?q=`);
    expect(card.description).not.toContain('This card lists');
  });
});

describe('10,000 catalog tools', () => {
  const COUNT = 10_000;
  let database: TestDatabase;
  let gateway: TestGateway;
  beforeAll(async () => {
    database = await createTestDatabase();
    await seedCatalog(database.db, COUNT);
    // the live catalog reads the whole catalog when its LISTEN is in place, as at every start
    gateway = await startTestGateway({ database, operator: { adminToken: ADMIN_TOKEN, secretsKey: randomBytes(32) } });
    await gateway.listen();
  }, 120_000);
  afterAll(async () => {
    await gateway?.close();
    await database?.dispose();
  });

  it('the card stays under 1 MB: every active built-in tool, then the first catalog tools by name, and where the rest are', async () => {
    let text = '';
    await waitFor(
      async () => {
        text = await (await fetch(`${gateway.baseUrl}/.well-known/agent-card.json`)).text();
        return text.includes(`of the ${COUNT + ACTIVE_BUILT_IN.length} active tools`);
      },
      'the live catalog at 10,000 tools',
      60_000,
    );
    const bytes = Buffer.byteLength(text);
    expect(bytes).toBeLessThan(1_000_000);
    const card = JSON.parse(text) as Card;
    expect(card.skills).toHaveLength(ACTIVE_BUILT_IN.length + CARD_CATALOG_SKILLS);
    expect(card.skills.slice(0, ACTIVE_BUILT_IN.length).map((skill) => skill.id)).toEqual(CARD_BUILT_IN);
    expect(card.skills[ACTIVE_BUILT_IN.length]?.id).toBe('tool00001StockQuote');
    expect(card.description).toContain(
      `This card lists ${ACTIVE_BUILT_IN.length + CARD_CATALOG_SKILLS} of the ${COUNT + ACTIVE_BUILT_IN.length}`,
    );
    console.log(`agent card at ${COUNT} catalog tools: ${bytes} bytes, ${card.skills.length} skills`);
  }, 90_000);

  it('searches them: a word, a tag, a page after a page; the OpenAI definitions a page of 128 at a time', async () => {
    const weather = await page(gateway, '/v1/tools?q=rain%20wind&limit=100');
    expect(weather.tools).toHaveLength(100);
    expect(weather.tools.every((tool) => tool.name.endsWith('WeatherForecast'))).toBe(true);
    const second = await page(gateway, `/v1/tools?q=rain%20wind&limit=100&cursor=${weather.nextCursor}`);
    expect(second.tools[0]?.name.endsWith('WeatherForecast')).toBe(true);
    expect(new Set([...names(weather), ...names(second)]).size).toBe(200);
    expect(names(await page(gateway, '/v1/tools?q=tool04242'))).toEqual(['tool04242GeoLookup']);
    expect((await page(gateway, '/v1/tools?tag=group-7&limit=100')).tools).toHaveLength(100);
    const openai = await page<OpenAiPage>(gateway, '/v1/tools/openai');
    expect(openai.tools).toHaveLength(128);
    expect(openai.nextCursor).not.toBeNull();
  }, 60_000);

  it('a call’s lookup stays in memory: the registry resolves any of the 10,000 without a database round trip', async () => {
    const catalog = openLiveCatalog(database.db, pino({ level: 'silent' }), { secretsKey: randomBytes(32), allowPrivateNetworks: false });
    await catalog.ready();
    const registry = createToolRegistry({ catalog });
    for (let i = 1; i <= COUNT; i++) {
      const name = catalogToolName(i);
      // synchronous: a lookup is an answer, not a promise of one (its speed is the bench's to say)
      const found = registry.resolve(name, '^1');
      expect(found).not.toBeInstanceOf(Promise);
      expect(found.kind).toBe('found');
    }
    expect(registry.offered()).toHaveLength(COUNT + ACTIVE_BUILT_IN.length);
  }, 60_000);
});
