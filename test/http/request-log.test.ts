import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemoData } from '../../src/db/demo-data.js';
import { call, expectResult, expectRpcError, request, toolCall, v1Data, v1Send } from '../a2a/support.js';
import { capturedLog, type LogLine } from '../helpers/captured-log.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * What a request leaves in the log at info (issue 18): a paid call one line, its `paid call` line
 * (org, tool, task, state, cost, ms), not that and a `request` line; every other request its
 * `request` line.
 */
describe('log lines at info per request', () => {
  const { log, lines } = capturedLog('info');
  let gateway: TestGateway;
  let key: string;
  beforeAll(async () => {
    gateway = await startTestGateway({ log });
    await seedDemoData(gateway.database.db, { now: new Date(), agents: 2, feedbacksPerAgent: 2, validationsPerAgent: 1 });
    key = (await gateway.createOrg({ credits: 1_000_000n })).apiKey.key;
  });
  afterAll(() => gateway?.close());

  const linesOf = (reply: { headers: Headers }): LogLine[] => lines.filter((line) => line.reqId === reply.headers.get('x-request-id'));
  const send = (agentId: number) => request('SendMessage', v1Send([v1Data(toolCall('getAgentProfile', { agentId }))]));

  it('a completed paid call: its paid call line alone', async () => {
    const reply = await call(gateway, send(1), key);
    expectResult(reply);
    expect(linesOf(reply).map((line) => line.msg)).toEqual(['paid call']);
    expect(linesOf(reply)[0]).toMatchObject({ tool: 'getAgentProfile', state: 'completed', cost: '1000' });
  });

  it('a failed paid call: its paid call line alone', async () => {
    const reply = await call(gateway, send(987_654), key);
    expectRpcError(reply, -32602);
    expect(linesOf(reply).map((line) => line.msg)).toEqual(['paid call']);
    expect(linesOf(reply)[0]).toMatchObject({ state: 'failed', cost: '0' });
  });

  it('a batch of two paid calls: two paid call lines', async () => {
    const reply = await call(
      gateway,
      [
        { ...send(1), id: 1 },
        { ...send(2), id: 2 },
      ],
      key,
    );
    expect(reply.status).toBe(200);
    expect(linesOf(reply).map((line) => line.msg)).toEqual(['paid call', 'paid call']);
  });

  it('a request with no paid call, and a refused one, keep their request line', async () => {
    const read = await call(gateway, request('GetTask', { id: '00000000-0000-4000-8000-000000000000' }), key);
    expectRpcError(read, -32001);
    expect(linesOf(read).map((line) => line.msg)).toEqual(['request']);
    const poor = (await gateway.createOrg({ credits: 1n })).apiKey.key;
    const refused = await call(gateway, send(1), poor);
    expectRpcError(refused, -32004);
    expect(linesOf(refused).map((line) => line.msg)).toEqual(['request']);
    expect(linesOf(refused)[0]).toMatchObject({ method: 'POST', path: '/a2a', status: 200 });
  });
});

/**
 * Every answer carries its request's id, whichever way it was made: the header is prepared before
 * the handler answers (issue 18), and a response a handler built itself must not lose it. Over a
 * real socket, so @hono/node-server's own ways of writing a response are the ones tested.
 */
describe('X-Request-Id on every answer', () => {
  let gateway: TestGateway;
  let key: string;
  let baseUrl: string;
  beforeAll(async () => {
    gateway = await startTestGateway();
    await seedDemoData(gateway.database.db, { now: new Date(), agents: 1, feedbacksPerAgent: 1, validationsPerAgent: 1 });
    key = (await gateway.createOrg({ credits: 1_000_000n })).apiKey.key;
    baseUrl = await gateway.listen();
  });
  afterAll(() => gateway?.close());

  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(`${baseUrl}/a2a`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const paid = (method: string) => JSON.stringify(request(method, v1Send([v1Data(toolCall('getAgentProfile', { agentId: 1 }))])));

  it.each([
    ['a paid call', () => post(paid('SendMessage'), { authorization: `Bearer ${key}` }), 200],
    ['a streamed paid call', () => post(paid('SendStreamingMessage'), { authorization: `Bearer ${key}` }), 200],
    ['a call without a key', () => post(paid('SendMessage')), 401],
    ['a body over the limit', () => post('x'.repeat(200 * 1024), { authorization: `Bearer ${key}` }), 413],
    ['a path no route serves', () => fetch(`${baseUrl}/no-such-path`), 404],
    ['the agent card', () => fetch(`${baseUrl}/.well-known/agent-card.json`), 200],
    ['the landing page', () => fetch(`${baseUrl}/`), 200],
    ['a dashboard asset', () => fetch(`${baseUrl}/dashboard/uplot.css`), 200],
    ['the OpenAPI document', () => fetch(`${baseUrl}/openapi.json`), 200],
  ])('%s', async (_, send, status) => {
    const response = await send();
    await response.text();
    expect(response.status).toBe(status);
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("echoes the caller's own sane id", async () => {
    const response = await post(paid('SendMessage'), { authorization: `Bearer ${key}`, 'x-request-id': 'caller-trace-7' });
    await response.text();
    expect(response.headers.get('x-request-id')).toBe('caller-trace-7');
  });
});
