/**
 * The HTTP endpoint around JSON-RPC: the 100 KB body limit (413) however the body arrives, Server-Sent
 * Events for streaming methods, /a2a/ and application/a2a+json, and the public routes (agent card,
 * health and readiness).
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import {
  account,
  COST,
  call,
  ENABLED_TOOLS,
  expectResult,
  type RpcAnswer,
  request,
  taskCount,
  toolCall,
  v1Data,
  v1Send,
  v1Text,
} from '../support.js';
import { useProtocolSuite } from './suite.js';

const { suite } = useProtocolSuite();

const LIMIT_BYTES = 100 * 1024;

describe('a body over 100 KB → HTTP 413 with a JSON-RPC -32600', () => {
  const oversized = JSON.stringify(request('SendMessage', v1Send([v1Text('x'.repeat(LIMIT_BYTES + 10))])));

  function expectTooLarge(status: number, body: RpcAnswer) {
    expect(status).toBe(413);
    expect(body).toEqual({
      jsonrpc: '2.0',
      id: null,
      error: {
        code: -32600,
        message: expect.any(String),
        data: { reason: 'body_too_large', limitBytes: LIMIT_BYTES },
      },
    });
  }

  it('with a Content-Length header', async () => {
    const before = await taskCount(suite.gateway, suite.org.orgId);
    const reply = await call(suite.gateway, oversized, suite.key);
    expectTooLarge(reply.status, reply.body);
    expect(reply.headers.get('content-type')).toMatch(/application\/json/);
    expect(await taskCount(suite.gateway, suite.org.orgId)).toBe(before);
  });

  it('streamed without a Content-Length', async () => {
    const bytes = new TextEncoder().encode(oversized);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let offset = 0; offset < bytes.length; offset += 8192) controller.enqueue(bytes.subarray(offset, offset + 8192));
        controller.close();
      },
    });
    const req = new Request('http://localhost/a2a', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${suite.key}` },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(req.headers.has('content-length')).toBe(false);
    const before = await taskCount(suite.gateway, suite.org.orgId);
    const response = await suite.gateway.app.request(req);
    expectTooLarge(response.status, (await response.json()) as RpcAnswer);
    expect(await taskCount(suite.gateway, suite.org.orgId)).toBe(before);
  });

  it('chunked over a real socket (Transfer-Encoding: chunked, no Content-Length)', async () => {
    const baseUrl = suite.gateway.baseUrl || (await suite.gateway.listen());
    const before = await taskCount(suite.gateway, suite.org.orgId);
    const reply = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request(
        `${baseUrl}/a2a`,
        {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${suite.key}`,
            'transfer-encoding': 'chunked',
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      const buffer = Buffer.from(oversized);
      for (let offset = 0; offset < buffer.length; offset += 8192) req.write(buffer.subarray(offset, offset + 8192));
      req.end();
    });
    expectTooLarge(reply.status, JSON.parse(reply.text) as RpcAnswer);
    expect(await taskCount(suite.gateway, suite.org.orgId)).toBe(before);
  });

  it('exactly 100 KB is still served; one byte more is refused', async () => {
    const atLimit = JSON.stringify(request('ListTasks', {})).padEnd(LIMIT_BYTES, ' ');
    expect(Buffer.byteLength(atLimit)).toBe(LIMIT_BYTES);
    expectResult(await call(suite.gateway, atLimit, suite.key));
    const overLimit = `${atLimit} `;
    const reply = await call(suite.gateway, overLimit, suite.key);
    expectTooLarge(reply.status, reply.body);
  });
});

describe('streaming methods over plain HTTP', () => {
  it('a streaming method answers Server-Sent Events a plain HTTP client can read: one JSON-RPC response per event', async () => {
    const org = await suite.gateway.createOrg({ credits: 100_000n });
    const body = request('SendStreamingMessage', v1Send([v1Data(toolCall('getAgentProfile', { agentId: 1 }))]));
    const response = await suite.gateway.rpc(body, org.apiKey.key);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = (await response.text())
      .split('\n\n')
      .filter((chunk) => chunk.startsWith('data:'))
      .map((chunk) => JSON.parse(chunk.slice('data:'.length)) as RpcAnswer);
    expect(events.every((event) => event.jsonrpc === '2.0' && event.id === body.id)).toBe(true);
    expect(events.map((event) => Object.keys(event.result ?? {})[0])).toEqual(['task', 'artifactUpdate', 'statusUpdate']);
    expect(events.at(-1)?.result.statusUpdate.status.state).toBe('TASK_STATE_COMPLETED');
  });
});

describe('endpoint edges: trailing slash, application/a2a+json', () => {
  const post = (path: string, body: unknown, headers: Record<string, string>) =>
    suite.gateway.app.request(path, { method: 'POST', headers, body: JSON.stringify(body) });

  it('POST /a2a/ (a client joining URLs) is the endpoint too', async () => {
    const own = await suite.gateway.createOrg({ name: 'trailing slash', credits: 100_000n });
    const response = await post('/a2a/', request('SendMessage', v1Send([v1Data(toolCall('getAgentProfile', { agentId: 1 }))])), {
      'content-type': 'application/json',
      authorization: `Bearer ${own.apiKey.key}`,
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as RpcAnswer;
    expect(body.result?.task?.status?.state).toBe('TASK_STATE_COMPLETED');
    expect((await account(suite.gateway, own.orgId))?.balance).toBe(100_000n - COST.getAgentProfile);
  });

  it('a request sent as application/a2a+json is answered as application/a2a+json: results, errors and 401s alike', async () => {
    for (const contentType of ['application/a2a+json', 'application/a2a+json; charset=utf-8', 'Application/A2A+JSON']) {
      const headers = { 'content-type': contentType, authorization: `Bearer ${suite.key}` };
      const listed = await post('/a2a', request('ListTasks', {}), headers);
      expect(listed.status).toBe(200);
      expect(listed.headers.get('content-type')).toBe('application/a2a+json');
      expect(((await listed.json()) as RpcAnswer).result?.tasks).toBeDefined();

      const failed = await post('/a2a', request('GetTask', { id: randomUUID() }), headers);
      expect(failed.headers.get('content-type')).toBe('application/a2a+json');
      expect(((await failed.json()) as RpcAnswer).error?.code).toBe(-32001);

      const unauthorized = await post('/a2a', request('ListTasks', {}), { 'content-type': contentType });
      expect(unauthorized.status).toBe(401);
      expect(unauthorized.headers.get('content-type')).toBe('application/a2a+json');
    }
    const plain = await post('/a2a', request('ListTasks', {}), {
      'content-type': 'application/json',
      authorization: `Bearer ${suite.key}`,
    });
    expect(plain.headers.get('content-type')).toMatch(/^application\/json/);
  });
});

describe('public routes', () => {
  it('GET /.well-known/agent-card.json: both interfaces, one skill per enabled tool with its tier and price', async () => {
    const response = await suite.gateway.app.request('/.well-known/agent-card.json');
    expect(response.status).toBe(200);
    const card = (await response.json()) as Record<string, any>;
    expect(card.supportedInterfaces).toContainEqual({
      url: 'http://localhost/a2a',
      protocolBinding: 'JSONRPC',
      protocolVersion: '1.0',
    });
    expect(card.url).toBe('http://localhost/a2a');
    expect(card.preferredTransport).toBe('JSONRPC');
    expect(card.protocolVersion).toMatch(/^0\.3/);
    expect(card.capabilities).toMatchObject({ streaming: true, pushNotifications: true });
    expect(card.securitySchemes.apiKey).toMatchObject({ type: 'http', scheme: 'bearer' });

    const expected: Record<string, { tier: number; micro: bigint; display: string }> = {
      getMyFeedbacks: { tier: 0, micro: 1_000n, display: '0.001 USDC' },
      getAgentProfile: { tier: 0, micro: 1_000n, display: '0.001 USDC' },
      getReputationSummary: { tier: 1, micro: 10_000n, display: '0.01 USDC' },
      getTrend: { tier: 1, micro: 10_000n, display: '0.01 USDC' },
      getValidationHistory: { tier: 1, micro: 10_000n, display: '0.01 USDC' },
    };
    const skills = card.skills as Array<{ id: string; name: string; description: string; tags: string[]; examples: string[] }>;
    expect(skills.map((skill) => skill.id).sort()).toEqual([...ENABLED_TOOLS].sort());
    expect(skills.map((skill) => skill.id)).not.toContain('getReputationReport');
    for (const skill of skills) {
      const want = expected[skill.id];
      expect(want, skill.id).toBeDefined();
      if (!want) continue;
      expect(skill.description).toContain(`Tier ${want.tier}`);
      expect(skill.description).toContain(want.display);
      expect(skill.description).toContain(`${want.micro} micro-USDC`);
      expect(skill.tags).toEqual(expect.arrayContaining([`tier-${want.tier}`, `price-${want.micro}-micro-usdc`]));
      expect(JSON.parse(skill.examples[0] ?? '{}')).toMatchObject({ tool: skill.id });
    }
  });

  it('the card names the base URL it was asked on', async () => {
    const baseUrl = suite.gateway.baseUrl || (await suite.gateway.listen());
    const card = (await (await fetch(`${baseUrl}/.well-known/agent-card.json`)).json()) as Record<string, any>;
    expect(card.url).toBe(`${baseUrl}/a2a`);
    expect(card.supportedInterfaces[0].url).toBe(`${baseUrl}/a2a`);
  });

  it('/healthz and /readyz answer 200 without a key', async () => {
    const health = await suite.gateway.app.request('/healthz');
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await suite.gateway.app.request('/readyz');
    expect(ready.status).toBe(200);
    // without REDIS_URL each instance counts rate limits in its own memory, and says so
    expect(await ready.json()).toEqual({ status: 'ready', database: suite.gateway.database.db.kind, rateLimits: { store: 'memory' } });
  });
});
