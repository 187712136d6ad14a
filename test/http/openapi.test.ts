import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { signIn } from '../helpers/sign-in.js';

interface OpenApi {
  openapi: string;
  paths: Record<
    string,
    Record<
      string,
      {
        parameters?: { name: string; in: string; required: boolean; schema: Record<string, unknown> }[];
        requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown>; required?: string[] } }> };
      }
    >
  >;
}

describe('GET /openapi.json', () => {
  let gateway: TestGateway;
  let doc: OpenApi;
  beforeAll(async () => {
    gateway = await startTestGateway();
    const response = await gateway.app.request('/openapi.json');
    expect(response.status).toBe(200);
    doc = (await response.json()) as OpenApi;
  });
  afterAll(() => gateway.close());

  it('is OpenAPI 3.1 and documents every REST route the app serves, no more, no less', () => {
    expect(doc.openapi).toBe('3.1.0');
    const served = gateway.app.routes
      .filter((route) => route.path.startsWith('/v1/') && route.method !== 'ALL' && !route.path.endsWith('*'))
      .map((route) => `${route.method.toLowerCase()} ${route.path.replace(/:(\w+)/g, '{$1}')}`);
    const documented = Object.entries(doc.paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method} ${path}`),
    );
    expect([...new Set(documented)].sort()).toEqual([...new Set(served)].sort());
  });

  it('takes its parameters and bodies from the zod schemas the routes validate with', () => {
    const ledger = doc.paths['/v1/ledger']?.get?.parameters ?? [];
    expect(ledger.map((parameter) => parameter.name).sort()).toEqual(['cursor', 'from', 'kind', 'limit', 'to']);
    expect(ledger.find((parameter) => parameter.name === 'limit')).toMatchObject({
      in: 'query',
      required: false,
      schema: { maximum: 500, minimum: 1 },
    });
    const usage = doc.paths['/v1/usage']?.get?.parameters?.find((parameter) => parameter.name === 'by');
    expect(usage?.schema).toMatchObject({ enum: ['tool', 'tier', 'day'] });
    const verify = doc.paths['/v1/auth/verify']?.post?.requestBody?.content['application/json']?.schema;
    expect(Object.keys(verify?.properties ?? {}).sort()).toEqual(['message', 'signature']);
    expect(verify?.required?.sort()).toEqual(['message', 'signature']);
  });

  it('documents each answer with the zod schema its handler is typed by, and the error envelope once', async () => {
    const answer = (path: string, method: string, status: string) =>
      (
        doc as unknown as {
          paths: Record<
            string,
            Record<
              string,
              {
                responses: Record<
                  string,
                  { content?: Record<string, { schema: { properties?: Record<string, unknown> } }>; $ref?: string }
                >;
              }
            >
          >;
        }
      ).paths[path]?.[method]?.responses[status];
    expect(Object.keys(answer('/v1/balance', 'get', '200')?.content?.['application/json']?.schema.properties ?? {})).toContain(
      'availableMicroUsdc',
    );
    expect(Object.keys(answer('/v1/topups', 'post', '202')?.content?.['application/json']?.schema.properties ?? {}).sort()).toEqual([
      'confirmations',
      'required',
      'status',
    ]);
    expect(answer('/v1/ledger.csv', 'get', '200')?.content).toHaveProperty('text/csv');
    expect(answer('/v1/balance', 'get', '401')?.$ref).toBe('#/components/responses/Error');
    const reference = await gateway.app.request('/reference');
    expect(reference.status).toBe(200);
    // The page's script (reference.client.ts, compiled and inlined) renders it from the document.
    expect(await reference.text()).toMatch(/fetch\(["']\/openapi\.json["']\)/);
  });

  it('validates requests with the documented schemas as the API always has: JSON whatever the content type, the first of a repeated parameter, one envelope for what is malformed', async () => {
    const owner = await signIn(gateway, privateKeyToAccount(generatePrivateKey()));
    const send = async (path: string, init: RequestInit) =>
      gateway.app.request(path, { ...init, headers: { authorization: `Bearer ${owner.token}`, ...init.headers } });
    const asText = await send('/v1/keys', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ name: 'sent as text' }),
    });
    expect(asText.status).toBe(201);
    expect((await send('/v1/ledger?limit=1&limit=x', { method: 'GET' })).status).toBe(200);
    const malformed = await send('/v1/keys', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":' });
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { error: { reason: string } }).error.reason).toBe('malformed_json');
    const invalid = await send('/v1/ledger?limit=0', { method: 'GET' });
    expect(invalid.status).toBe(400);
    expect(((await invalid.json()) as { error: unknown }).error).toMatchObject({
      code: 'invalid_request',
      reason: 'invalid_query',
      details: [{ path: 'limit' }],
    });
  });
});
