import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewOrganization } from '../../src/auth/organizations.js';
import { getCreditAccount } from '../../src/billing/accounts.js';
import { seedDemoData } from '../../src/db/demo-data.js';
import { capturedLog } from '../helpers/captured-log.js';
import { checkLedgerAfterEach, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { connectMcp } from '../helpers/mcp-client.js';

const ALLOWED = 'https://host.example';
const captured = capturedLog('debug');
let gateway: TestGateway;
let org: NewOrganization;
let baseUrl: string;

beforeAll(async () => {
  gateway = await startTestGateway({ log: captured.log, mcpAllowedOrigins: [ALLOWED] });
  await seedDemoData(gateway.database.db, { now: new Date(), agents: 3, feedbacksPerAgent: 2, validationsPerAgent: 1 });
  org = await gateway.createOrg({ credits: 1_000_000n });
  baseUrl = await gateway.listen();
});
afterAll(async () => {
  await gateway?.close();
});
checkLedgerAfterEach(() => [gateway]);

const MCP_HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-protocol-version': '2025-11-25',
};
const LIST = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' });

const post = (headers: Record<string, string>, body = LIST) =>
  fetch(`${baseUrl}/mcp`, { method: 'POST', headers: { ...MCP_HEADERS, ...headers }, body });

describe('authentication', () => {
  it('no key: 401 with WWW-Authenticate and a JSON-RPC error, before any method runs', async () => {
    const response = await post({});
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="a2a-paygate"');
    expect(await response.json()).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32000, data: { reason: 'missing_api_key' } } });
  });

  it('an unknown or revoked key: 401', async () => {
    const response = await post({ authorization: 'Bearer apg_not_a_real_key_at_all' });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: { data: { reason: 'invalid_api_key' } } });
  });

  it('the SDK client cannot connect without a key', async () => {
    await expect(connectMcp(baseUrl)).rejects.toBeInstanceOf(StreamableHTTPError);
    await expect(connectMcp(baseUrl, { apiKey: 'apg_wrong' })).rejects.toMatchObject({ code: 401 });
  });
});

describe('Origin (DNS rebinding)', () => {
  it('a page of another origin is refused with 403, before the key is even read', async () => {
    const response = await post({ origin: 'https://evil.example', authorization: `Bearer ${org.apiKey.key}` });
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ error: { data: { reason: 'origin_not_allowed' } } });
  });

  it('a rebinding page (its own name in both Host and Origin) is refused: without PUBLIC_URL only loopback pages are the gateway’s own', async () => {
    const { request } = await import('node:http');
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const url = new URL(`${baseUrl}/mcp`);
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: '/mcp',
          method: 'POST',
          headers: { ...MCP_HEADERS, host: 'evil.example:80', origin: 'http://evil.example', authorization: `Bearer ${org.apiKey.key}` },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode);
        },
      );
      req.on('error', reject);
      req.end(LIST);
    });
    expect(status).toBe(403);
  });

  it('an origin in MCP_ALLOWED_ORIGINS, a loopback page, and no Origin at all (not a browser) are served', async () => {
    for (const origin of [ALLOWED, baseUrl, 'http://localhost:5173', undefined]) {
      const response = await post({ ...(origin ? { origin } : {}), authorization: `Bearer ${org.apiKey.key}` });
      expect(response.status, String(origin)).toBe(200);
    }
    const client = await connectMcp(baseUrl, { apiKey: org.apiKey.key, headers: { origin: ALLOWED } });
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
    await client.close();
  });

  it('CORS: an allowed page gets its preflight answered and may read Mcp-Session-Id; another gets no CORS headers', async () => {
    const preflight = (origin: string) =>
      fetch(`${baseUrl}/mcp`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization, content-type, mcp-protocol-version',
        },
      });
    const allowed = await preflight(ALLOWED);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(allowed.headers.get('access-control-allow-headers')).toContain('authorization');
    const refused = await preflight('https://evil.example');
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    const served = await post({ origin: ALLOWED, authorization: `Bearer ${org.apiKey.key}` });
    expect(served.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(served.headers.get('access-control-expose-headers')).toContain('mcp-session-id');
  });
});

describe('the transport', () => {
  it('a body over 100 KB is 413, whoever sends it', async () => {
    const response = await post({ authorization: `Bearer ${org.apiKey.key}` }, JSON.stringify({ pad: 'x'.repeat(101 * 1024) }));
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ error: { code: -32600, data: { reason: 'body_too_large' } } });
  });

  it('a body that is not JSON is 400 -32700', async () => {
    const response = await post({ authorization: `Bearer ${org.apiKey.key}` }, '{"jsonrpc":');
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: -32700 } });
  });

  it('GET (a standalone stream) and DELETE (ending a session) are 405: the server keeps no session', async () => {
    for (const method of ['GET', 'DELETE']) {
      const response = await fetch(`${baseUrl}/mcp`, { method, headers: { ...MCP_HEADERS, authorization: `Bearer ${org.apiKey.key}` } });
      expect(response.status, method).toBe(405);
      expect(response.headers.get('allow')).toBe('POST');
    }
  });

  it('initialize gives an Mcp-Session-Id, which any request may send back; a malformed one is 400', async () => {
    const init = await post(
      { authorization: `Bearer ${org.apiKey.key}` },
      JSON.stringify({
        jsonrpc: '2.0',
        id: 0,
        method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'curl', version: '1' } },
      }),
    );
    expect(init.status).toBe(200);
    const sessionId = init.headers.get('mcp-session-id');
    expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await init.json()).toMatchObject({ result: { protocolVersion: '2025-11-25', serverInfo: { name: 'a2a-paygate' } } });
    expect((await post({ authorization: `Bearer ${org.apiKey.key}`, 'mcp-session-id': 'some-other-id' })).status).toBe(200);
    expect((await post({ authorization: `Bearer ${org.apiKey.key}`, 'mcp-session-id': 'has space' })).status).toBe(400);
  });

  it('an unsupported protocol version is 400', async () => {
    const response = await post({ authorization: `Bearer ${org.apiKey.key}`, 'mcp-protocol-version': '1999-01-01' });
    expect(response.status).toBe(400);
  });
});

describe('one message per request', () => {
  const withKey = () => ({ authorization: `Bearer ${org.apiKey.key}` });
  const call = (id: unknown, agentId = 1) => ({
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: { name: 'getAgentProfile', arguments: { agentId } },
  });

  it('a batch is 400 and runs nothing: MCP has none since 2025-06-18, and a repeated id would be charged twice and answered once', async () => {
    const before = await getCreditAccount(gateway.database.db, org.orgId);
    const response = await post(withKey(), JSON.stringify([call(7, 1), call(7, 2)]));
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: -32600, data: { reason: 'batch_not_supported' } } });
    expect(await getCreditAccount(gateway.database.db, org.orgId)).toEqual(before);
  });

  it.each([
    ['a string id over 200 characters', 'i'.repeat(201)],
    ['a fractional id', 1.5],
    ['a null id', null],
    ['an id past 2^53', 2 ** 60],
  ])('%s is 400 -32600 and runs nothing', async (_, id) => {
    const response = await post(withKey(), JSON.stringify(call(id)));
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: -32600, data: { reason: 'invalid_id' } } });
  });

  it('a response from the client, or a notification the server does not act on, is accepted (202) and does nothing', async () => {
    const lines = captured.lines.length;
    for (const body of [
      { jsonrpc: '2.0', id: 5, result: {} },
      { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'p'.repeat(90_000), progress: 1 } },
      { jsonrpc: '2.0', method: 'notifications/roots/list_changed' },
    ]) {
      expect((await post(withKey(), JSON.stringify(body))).status).toBe(202);
    }
    expect(captured.lines.slice(lines).filter((line) => line.level >= 40)).toEqual([]);
  });

  it('a tools/call asking to run as an MCP task (which this server does not offer) runs as an ordinary call', async () => {
    const response = await post(withKey(), JSON.stringify({ ...call(9), params: { ...call(9).params, task: { ttl: 60_000 } } }));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ id: 9, result: { _meta: { charged: true } } });
  });
});

describe('secrets', () => {
  it('no API key appears in any log line, whatever the request', async () => {
    const client = await connectMcp(baseUrl, { apiKey: org.apiKey.key });
    await client.callTool({ name: 'getAgentProfile', arguments: { agentId: 1 } });
    await client.callTool({ name: 'getAgentProfile', arguments: { agentId: 99_999 } });
    await client.close();
    await post({ authorization: 'Bearer apg_leaked_if_logged_0123456789' });
    const written = JSON.stringify(captured.lines);
    expect(written).not.toContain(org.apiKey.key);
    expect(written).not.toContain('apg_leaked_if_logged_0123456789');
    expect(captured.lines.some((line) => line.msg === 'paid call')).toBe(true);
  });
});
