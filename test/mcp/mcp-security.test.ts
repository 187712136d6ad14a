import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewOrganization } from '../../src/auth/organizations.js';
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

  it('an origin in MCP_ALLOWED_ORIGINS, the gateway’s own, and no Origin at all (not a browser) are served', async () => {
    for (const origin of [ALLOWED, baseUrl, undefined]) {
      const response = await post({ ...(origin ? { origin } : {}), authorization: `Bearer ${org.apiKey.key}` });
      expect(response.status, String(origin)).toBe(200);
    }
    const client = await connectMcp(baseUrl, { apiKey: org.apiKey.key, headers: { origin: ALLOWED } });
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
    await client.close();
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
