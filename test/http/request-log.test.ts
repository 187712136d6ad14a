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
