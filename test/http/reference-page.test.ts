import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { a2aMethods, x402Methods } from '../../src/a2a/methods.js';
import { A2A_METHOD_DOCS } from '../../src/a2a/reference.js';
import { MCP_METHOD_DOCS } from '../../src/mcp/reference.js';
import { type McpRequestContext, mcpServer } from '../../src/mcp/server.js';
import { RpcCode } from '../../src/rpc/errors.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

interface Documented {
  paths: Record<string, Record<string, { responses: Record<string, { $ref?: string; description?: string }> }>>;
}

/** The methods and notifications an MCP server answers, read from the SDK's handler maps (what `setRequestHandler` filled). */
function mcpHandled(): string[] {
  const server = mcpServer({ ctx: { key: { id: 'k' } } } as unknown as McpRequestContext) as unknown as {
    _requestHandlers: Map<string, unknown>;
    _notificationHandlers: Map<string, unknown>;
  };
  return [...server._requestHandlers.keys(), ...server._notificationHandlers.keys()];
}

describe('GET /reference: the REST routes with their own errors, the A2A methods and the MCP endpoint', () => {
  let gateway: TestGateway;
  let page: string;
  let doc: Documented;
  beforeAll(async () => {
    gateway = await startTestGateway();
    page = await (await gateway.app.request('/reference')).text();
    doc = (await (await gateway.app.request('/openapi.json')).json()) as Documented;
  });
  afterAll(() => gateway.close());

  it('documents every JSON-RPC method /a2a answers, of both generations, and no other', () => {
    const answered = Object.keys(a2aMethods).sort();
    expect(Object.keys(A2A_METHOD_DOCS).sort()).toEqual(answered);
    const listed = [...page.matchAll(/<li class="rpc" data-method="([^"]+)"/g)].map((match) => match[1]);
    for (const name of answered) expect(listed, name).toContain(name);
    expect(answered).toEqual(expect.arrayContaining(['SendMessage', 'GetTask', 'message/send', 'tasks/get']));
    // the methods a caller without a key may pay with x402 are marked so
    for (const name of Object.keys(x402Methods)) {
      expect(page).toMatch(new RegExp(`data-method="${name.replace('/', '\\/')}">.*?x402 without a key`, 's'));
    }
  });

  it('lists every JSON-RPC error code with its A2A 1.0 reason', () => {
    const errors = page.slice(page.indexOf('id="a2a-errors"'), page.indexOf('</table>', page.indexOf('id="a2a-errors"')));
    for (const code of Object.values(RpcCode)) expect(errors, String(code)).toContain(`<code>${code}</code>`);
    expect(errors).toContain('UNAUTHENTICATED');
    expect(errors).toContain('insufficient_credits');
  });

  it('documents every MCP method and notification the server handles, its resources and auth', () => {
    expect(Object.keys(MCP_METHOD_DOCS).sort()).toEqual(mcpHandled().sort());
    const mcp = page.slice(page.indexOf('<section id="mcp"'));
    for (const name of ['tools/list', 'tools/call', 'resources/read']) expect(mcp).toContain(`data-method="${name}"`);
    expect(mcp).toContain('a2a-paygate://price-list');
    expect(mcp).toContain('Authorization: Bearer &lt;API key&gt;');
    expect(mcp).toContain('Streamable HTTP');
  });

  it('has a password field for the key, with a label, and keeps no key in plain text', () => {
    expect(page).toMatch(/<label for="token">/);
    expect(page).toMatch(/<input id="token" type="password"/);
    expect(page).not.toContain("sessionStorage.setItem('paygate-credential'");
    expect(page).not.toMatch(/sessionStorage\.setItem\(["']paygate-credential["']/);
  });

  it("documents each route's own error statuses, each named by its code and reasons", () => {
    const errors = (path: string, method: string) =>
      Object.entries(doc.paths[path]?.[method]?.responses ?? {}).filter(([status]) => Number(status) >= 400);
    // every route may find the database unreachable: 503 database_unavailable, with Retry-After
    expect(errors('/v1/tools', 'get').map(([status]) => status)).toEqual(['400', '503']);
    expect(Object.fromEntries(errors('/v1/tools', 'get'))['503']?.description).toBe('unavailable: database_unavailable');
    const call = Object.fromEntries(errors('/v1/tools/{name}/call', 'post'));
    expect(Object.keys(call)).toEqual(['400', '401', '402', '403', '404', '409', '413', '429', '502', '503']);
    expect(call['402']).toMatchObject({ $ref: '#/components/responses/Error' });
    expect(call['402']?.description).toMatch(/^payment_required: payment_required, invalid_signature/);
    expect(call['401']?.description).toBe('unauthorized: missing_api_key, invalid_api_key');
    expect(call['404']?.description).toContain('unknown_tool');
    expect(Object.fromEntries(errors('/v1/keys', 'post'))['403']?.description).toBe('forbidden: role_too_low');
    expect(Object.fromEntries(errors('/v1/balance', 'get'))['404']?.description).toBe('not_found');
  });
});
