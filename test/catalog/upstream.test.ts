import { createHmac, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  callUpstream,
  MAX_ANSWER_BYTES,
  SIGNATURE_HEADER,
  TASK_ID_HEADER,
  type UpstreamCall,
  UpstreamFailure,
} from '../../src/catalog/upstream.js';
import type { Resolve } from '../../src/webhooks/destination.js';
import type { LoopbackServer } from '../helpers/loopback.js';
import { answerJson, type Received, startRecordingUpstream } from '../helpers/recording-upstream.js';
import { waitFor } from '../helpers/wait.js';

/**
 * A catalog tool's upstream request (issue 19) against a real HTTP server of the test's own on
 * loopback: what the provider receives and can verify, and every kind of answer that cannot be sold.
 */

const signingKey = randomBytes(32).toString('hex');

describe('callUpstream', () => {
  let received: Received[] = [];
  let abortedRequests = 0;
  let upstream: LoopbackServer;

  beforeAll(async () => {
    const recording = await startRecordingUpstream((req, res) => {
      const json = (status: number, value: unknown) => answerJson(res, status, value);
      switch (req.path) {
        case '/ok':
          return json(200, { tempC: 21.5, city: 'Lisbon' });
        case '/status':
          return json(503, { error: 'busy' });
        case '/redirect':
          return res.writeHead(302, { location: '/ok' }).end();
        case '/text':
          return res.writeHead(200, { 'content-type': 'text/plain' }).end('sunny');
        case '/array':
          return json(200, [1, 2, 3]);
        case '/misfit':
          return json(200, { temp: 'warm' });
        case '/huge':
          return json(200, { padding: 'x'.repeat(MAX_ANSWER_BYTES + 10) });
        case '/slow':
          // never answers: the caller's deadline or cancellation ends it
          res.on('close', () => {
            if (!res.writableEnded) abortedRequests += 1;
          });
          return;
        default:
          return json(404, {});
      }
    });
    upstream = recording;
    received = recording.received;
  });
  afterAll(() => upstream?.close());

  const base = (path: string, extra: Partial<UpstreamCall> = {}): UpstreamCall => ({
    url: `${upstream.baseUrl}${path}`,
    arguments: { city: 'Lisbon' },
    taskId: 'task-123',
    headers: { 'X-Api-Key': 'provider-key' },
    signingKey,
    timeoutMs: 2_000,
    allowPrivateNetworks: true,
    checkResult: (answer) => (typeof (answer as { tempC?: unknown }).tempC === 'number' ? undefined : 'tempC: must be a number'),
    ...extra,
  });
  const failure = async (call: UpstreamCall) => {
    const error = await callUpstream(call).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UpstreamFailure);
    return error as UpstreamFailure;
  };

  it('posts the arguments, signed, with the task id and the provider headers; answers the JSON object', async () => {
    expect(await callUpstream(base('/ok'))).toEqual({ tempC: 21.5, city: 'Lisbon' });
    const request = received.at(-1)!;
    expect(JSON.parse(request.body)).toEqual({ arguments: { city: 'Lisbon' } });
    expect(request.headers[TASK_ID_HEADER]).toBe('task-123');
    expect(request.headers['x-api-key']).toBe('provider-key');
    expect(request.headers['content-type']).toBe('application/json');
    // the provider checks the signature with its key, as webhook receivers do
    const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(request.headers[SIGNATURE_HEADER])) ?? [];
    expect(v1).toBe(createHmac('sha256', signingKey).update(`${t}.${request.body}`).digest('hex'));
    expect(Math.abs(Number(t) - Date.now() / 1000)).toBeLessThan(60);
  });

  it('fails, naming the host, for every answer that cannot be sold', async () => {
    const host = new URL(upstream.baseUrl).host;
    const cases: [string, string, number | undefined][] = [
      ['/status', 'http_status', 503],
      ['/redirect', 'http_status', 302],
      ['/missing', 'http_status', 404],
      ['/text', 'not_json', 200],
      ['/array', 'not_json', 200],
      ['/misfit', 'result_invalid', 200],
      ['/huge', 'too_large', undefined],
    ];
    for (const [path, kind, status] of cases) {
      const error = await failure(base(path));
      expect([path, error.kind, error.status]).toEqual([path, kind, status]);
      expect(error.message).toContain(host);
      expect(error.message).not.toContain('provider-key');
    }
    // the redirect was not followed
    expect(received.filter((request) => request.path === '/ok')).toHaveLength(1);
  });

  it('times out, and a canceled call aborts its upstream request', async () => {
    expect((await failure(base('/slow', { timeoutMs: 200 }))).kind).toBe('timeout');
    await waitFor(() => abortedRequests === 1, 'the timed-out request to be aborted', 2_000);
    const cancel = new AbortController();
    const pending = failure(base('/slow', { timeoutMs: 10_000, signal: cancel.signal }));
    await waitFor(() => received.filter((request) => request.path === '/slow').length === 2, 'the second slow request', 2_000);
    cancel.abort(new Error('task canceled'));
    expect((await pending).kind).toBe('canceled');
    await waitFor(() => abortedRequests === 2, 'the canceled request to be aborted at the upstream', 2_000);
  });

  it('never calls into private networks unless allowed, and connects to the address it checked', async () => {
    const before = received.length;
    expect((await failure(base('/ok', { allowPrivateNetworks: false }))).kind).toBe('private_destination');
    // a name that resolves to a public address first and to loopback on a second lookup
    const lookups: string[] = [];
    const rebinding: Resolve = async (host) => {
      lookups.push(host);
      return [{ address: lookups.length === 1 ? '93.184.215.14' : '127.0.0.1', family: 4 }];
    };
    const port = new URL(upstream.baseUrl).port;
    const error = await failure(
      base('/ok', { url: `http://tools.rebind.test:${port}/ok`, allowPrivateNetworks: false, resolve: rebinding, timeoutMs: 500 }),
    );
    expect(['timeout', 'unreachable']).toContain(error.kind);
    expect(lookups).toEqual(['tools.rebind.test']);
    const loopbackOnly: Resolve = async () => [{ address: '127.0.0.1', family: 4 }];
    expect(
      (await failure(base('/ok', { url: `http://tools.loopback.test:${port}/ok`, allowPrivateNetworks: false, resolve: loopbackOnly })))
        .kind,
    ).toBe('private_destination');
    expect(received.length).toBe(before);
  });
});
