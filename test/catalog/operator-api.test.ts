import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * The operator API (issue 19) over real HTTP: /admin/v1/tools behind ADMIN_TOKEN, and absent
 * without one. What it validates is register-tool.test.ts's manifest; here, its statuses and access.
 */

const ADMIN_TOKEN = randomBytes(24).toString('hex');
const SECRET = 'provider-credential-never-shown-5d1e';

const manifest = (version: string, extra: Record<string, unknown> = {}) => ({
  name: 'quotes',
  version,
  description: 'Stock quotes',
  tier: 0,
  settlement: 'instant',
  argumentsSchema: { type: 'object', properties: { symbol: { type: 'string' } }, required: ['symbol'] },
  upstream: { url: 'https://quotes.example.com/q', headers: { 'X-Api-Key': SECRET } },
  ...extra,
});

describe('operator API: /admin/v1/tools', () => {
  let gateway: TestGateway;
  let withoutToken: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({ operator: { adminToken: ADMIN_TOKEN, secretsKey: randomBytes(32) } });
    await gateway.listen();
    withoutToken = await startTestGateway();
    await withoutToken.listen();
  });
  afterAll(async () => {
    await gateway?.close();
    await withoutToken?.close();
  });

  const call = (path: string, init: { method?: string; body?: unknown; token?: string | null } = {}, target = gateway) =>
    fetch(`${target.baseUrl}${path}`, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: {
        'content-type': 'application/json',
        ...(init.token === null ? {} : { authorization: `Bearer ${init.token ?? ADMIN_TOKEN}` }),
      },
      ...(init.body === undefined ? {} : { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }),
    });
  const errorOf = async (response: Response) => ((await response.json()) as { error: { code: string; reason?: string } }).error;

  it('registers, lists, deprecates and retires; header values never come back', async () => {
    const created = await call('/admin/v1/tools', { body: manifest('1.0.0') });
    expect(created.status).toBe(201);
    const text = await created.text();
    expect(text).not.toContain(SECRET);
    expect(JSON.parse(text).tool).toMatchObject({
      name: 'quotes',
      version: '1.0.0',
      priceMicroUsdc: '1000',
      upstream: { headerNames: ['X-Api-Key'] },
    });
    expect(JSON.parse(text).signingSecret).toMatch(/^[0-9a-f]{64}$/);
    const second = await call('/admin/v1/tools', { body: manifest('1.1.0') });
    expect(second.status).toBe(201);
    expect(((await second.json()) as { signingSecret?: string }).signingSecret).toBeUndefined();

    const listed = await call('/admin/v1/tools');
    const listedText = await listed.text();
    expect(listed.status).toBe(200);
    expect(listedText).not.toContain(SECRET);
    expect(JSON.parse(listedText).tools.map((tool: { version: string; status: string }) => [tool.version, tool.status])).toEqual([
      ['1.0.0', 'active'],
      ['1.1.0', 'active'],
    ]);

    const deprecated = await call('/admin/v1/tools/quotes/versions/1.0.0/deprecate', { method: 'POST' });
    expect(deprecated.status).toBe(200);
    expect(((await deprecated.json()) as { tool: { status: string } }).tool.status).toBe('deprecated');
    expect((await call('/admin/v1/tools/quotes/versions/1.0.0/retire', { method: 'POST' })).status).toBe(200);
  });

  it('answers a taken or retired version 409, an unknown one 404, a bad manifest 400 with the problem', async () => {
    const taken = await call('/admin/v1/tools', { body: manifest('1.1.0') });
    expect(taken.status).toBe(409);
    expect((await errorOf(taken)).reason).toBe('tool_version_exists');

    const retired = await call('/admin/v1/tools/quotes/versions/1.0.0/deprecate', { method: 'POST' });
    expect(retired.status).toBe(409);
    expect((await errorOf(retired)).reason).toBe('tool_retired');

    const unknown = await call('/admin/v1/tools/quotes/versions/9.9.9/retire', { method: 'POST' });
    expect(unknown.status).toBe(404);
    expect((await errorOf(unknown)).reason).toBe('tool_not_found');

    const reserved = await call('/admin/v1/tools', { body: manifest('1.0.0', { name: 'getTrend' }) });
    expect(reserved.status).toBe(400);
    expect((await errorOf(reserved)).reason).toBe('tool_name_reserved');

    const invalid = await call('/admin/v1/tools', { body: manifest('latest') });
    expect(invalid.status).toBe(400);
    expect(await invalid.text()).toContain('semantic version');

    expect((await call('/admin/v1/tools', { body: '{"name":' })).status).toBe(400);
    // in process: over a socket, the server answers 413 before the client has sent all of it, and the client sees a reset
    const huge = await gateway.app.request('/admin/v1/tools', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify(manifest('3.0.0', { description: 'x'.repeat(300 * 1024) })),
    });
    expect(huge.status).toBe(413);
  });

  it('refuses a missing or wrong token with 401, and is not served at all without ADMIN_TOKEN', async () => {
    for (const token of [null, 'wrong', `${ADMIN_TOKEN}x`, 'apg_notanoperator']) {
      const response = await call('/admin/v1/tools', { token });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toContain('Bearer');
      const refusedWrite = await call('/admin/v1/tools', { token, body: manifest('5.0.0') });
      expect(refusedWrite.status).toBe(401);
    }
    expect(((await (await call('/admin/v1/tools')).json()) as { tools: unknown[] }).tools).toHaveLength(2);
    const absent = await call('/admin/v1/tools', {}, withoutToken);
    expect(absent.status).toBe(404);
  });
});
