import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/client.js';
import { account, call, expectResult, expectRpcError, request, v1Data, v1Send } from '../a2a/support.js';
import { capturedLog } from '../helpers/captured-log.js';
import { databaseEnv, databaseOptions } from '../helpers/database.js';
import { checkLedgerAfterEach, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { type LoopbackServer, listenOnLoopback } from '../helpers/loopback.js';
import { answerJson, type Received, startRecordingUpstream } from '../helpers/recording-upstream.js';
import { needs } from '../helpers/requirements.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Catalog tools called as any tool (issue 19): over A2A against a real upstream HTTP server of the
 * test's own on loopback, registered through the operator API. Charged only for a 2xx JSON answer
 * that fits the result schema; every other outcome a failed task that moves no money.
 */

const ADMIN_TOKEN = randomBytes(24).toString('hex');
const PROVIDER_SECRET = 'provider-credential-never-shown-8c2f';
const CREDITS = 1_000_000n;

describe('calling catalog tools', () => {
  let received: Received[] = [];
  /** requests to /slow whose connection closed before an answer: the gateway aborted them */
  let abortedSlow = 0;
  let upstream: LoopbackServer;
  let gateway: TestGateway;
  let key: string;
  let orgId: string;
  let signingSecrets: Record<string, string> = {};
  const logged = capturedLog('debug');

  beforeAll(async () => {
    const recording = await startRecordingUpstream((req, res) => {
      const json = (status: number, value: unknown) => answerJson(res, status, value);
      const city = (JSON.parse(req.body || '{}') as { arguments?: { city?: string } }).arguments?.city ?? '?';
      switch (req.path) {
        case '/weather':
          return json(200, { city, tempC: 21.5 });
        case '/status':
          return json(503, { error: 'busy' });
        case '/text':
          return res.writeHead(200, { 'content-type': 'text/plain' }).end('sunny');
        case '/misfit':
          return json(200, { city, temp: 'warm' });
        case '/slow':
          res.on('close', () => {
            if (!res.writableEnded) abortedSlow += 1;
          });
          return;
        default:
          return json(404, {});
      }
    });
    upstream = recording;
    received = recording.received;
    gateway = await startTestGateway({ log: logged.log, operator: { adminToken: ADMIN_TOKEN, secretsKey: randomBytes(32) } });
    await gateway.listen();
    const org = await gateway.createOrg({ credits: CREDITS });
    key = org.apiKey.key;
    orgId = org.orgId;
    signingSecrets = {};
  });
  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
  });
  checkLedgerAfterEach(() => [gateway], { idle: false });

  const admin = (path: string, body?: unknown, target = gateway) =>
    fetch(`${target.baseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  const WEATHER_ARGS = {
    type: 'object',
    properties: { city: { type: 'string', minLength: 1 } },
    required: ['city'],
    additionalProperties: false,
  };
  const WEATHER_RESULT = { type: 'object', properties: { tempC: { type: 'number' } }, required: ['tempC'] };

  async function register(name: string, version: string, path: string, extra: Record<string, unknown> = {}, target = gateway) {
    const response = await admin(
      '/admin/v1/tools',
      {
        name,
        version,
        description: `${name} for tests`,
        tier: 0,
        settlement: 'instant',
        argumentsSchema: WEATHER_ARGS,
        resultSchema: WEATHER_RESULT,
        upstream: { url: `${upstream.baseUrl}${path}`, timeoutMs: 5_000, headers: { 'X-Api-Key': PROVIDER_SECRET } },
        ...extra,
      },
      target,
    );
    expect(response.status, await response.clone().text()).toBe(201);
    const { signingSecret } = (await response.json()) as { signingSecret?: string };
    if (signingSecret) signingSecrets[name] = signingSecret;
  }

  function sendCall(
    tool: string,
    args: Record<string, unknown>,
    extra: { version?: string; messageId?: string; returnImmediately?: boolean } = {},
  ) {
    const data = { tool, ...(extra.version ? { version: extra.version } : {}), arguments: args };
    const params = {
      ...v1Send([v1Data(data)], extra.messageId ? { messageId: extra.messageId } : {}),
      ...(extra.returnImmediately ? { configuration: { returnImmediately: true } } : {}),
    };
    return call(gateway, request('SendMessage', params), key);
  }

  const balance = async () => (await account(gateway, orgId))?.balance;
  /** an invalid-params error's reason: A2A 1.0 carries a -32602's details as a plain object */
  const reasonOf = (error: { data?: unknown }) => (error.data as { reason?: string } | undefined)?.reason;

  it('a paid call is charged once, and the provider gets a signed request it can verify', async () => {
    await register('weather', '1.0.0', '/weather');
    await register('weather', '1.1.0', '/weather');
    await register('weather', '2.0.0-beta.1', '/weather');
    await waitFor(async () => expectResultOrNull(await sendCall('weather', { city: 'warmup' }, { version: '2.0.0-beta.1' })));
    const before = await balance();
    const sent = received.length;
    const messageId = randomUUID();
    const task = expectResult(await sendCall('weather', { city: 'Lisbon' }, { messageId })).task;
    expect(task.status.state).toBe('TASK_STATE_COMPLETED');
    // without a version: the newest active release (the pre-release is not the default)
    expect(task.metadata).toMatchObject({ tool: 'weather', tool_version: '1.1.0', cost_micro_usdc: '1000', charged: true });
    expect(task.artifacts[0].parts[0].data).toEqual({ city: 'Lisbon', tempC: 21.5 });
    expect(await balance()).toBe((before ?? 0n) - 1_000n);

    const request_ = received.at(-1) as Received;
    expect(received.length).toBe(sent + 1);
    expect(request_.path).toBe('/weather');
    expect(JSON.parse(request_.body)).toEqual({ arguments: { city: 'Lisbon' } });
    expect(request_.headers['x-paygate-task-id']).toBe(task.id);
    expect(request_.headers['x-api-key']).toBe(PROVIDER_SECRET);
    // tracing is off here: the trace id is the task's, so the provider can still join its records to the task
    expect(request_.headers.traceparent).toMatch(new RegExp(`^00-${task.id.replaceAll('-', '')}-[0-9a-f]{16}-00$`));
    const [t, v1] = String(request_.headers['x-paygate-signature'])
      .split(',')
      .map((part) => part.split('=')[1]);
    const expected = createHmac('sha256', signingSecrets.weather as string)
      .update(`${t}.${request_.body}`)
      .digest('hex');
    expect(v1).toBe(expected);

    // the same messageId again: the first task, not a second charge nor a second upstream request
    const retried = expectResult(await sendCall('weather', { city: 'Lisbon' }, { messageId })).task;
    expect(retried.id).toBe(task.id);
    expect(received.length).toBe(sent + 1);
    expect(await balance()).toBe((before ?? 0n) - 1_000n);
  });

  function expectResultOrNull(reply: Awaited<ReturnType<typeof sendCall>>): boolean {
    return reply.body.result !== undefined;
  }

  it('arguments are checked against argumentsSchema before the upstream is called', async () => {
    const sent = received.length;
    const before = await balance();
    const error = expectRpcError(await sendCall('weather', { city: '', country: 'PT' }), -32602);
    expect(reasonOf(error)).toBe('invalid_arguments');
    expect(error.message).toContain('weather');
    expect(received.length).toBe(sent);
    expect(await balance()).toBe(before);
  });

  it('versions: exact, ranges, a range nothing satisfies, a version that is not one', async () => {
    const versionOf = async (version: string) =>
      expectResult(await sendCall('weather', { city: 'Porto' }, { version })).task.metadata.tool_version;
    expect(await versionOf('1.0.0')).toBe('1.0.0');
    expect(await versionOf('^1.0')).toBe('1.1.0');
    expect(await versionOf('~1.0.0')).toBe('1.0.0');
    expect(await versionOf('2.0.0-beta.1')).toBe('2.0.0-beta.1');
    const none = expectRpcError(await sendCall('weather', { city: 'Porto' }, { version: '^3' }), -32602);
    expect(reasonOf(none)).toBe('no_matching_version');
    expect((none.data as { versions?: string[] }).versions).toEqual(['2.0.0-beta.1', '1.1.0', '1.0.0']);
    expect(reasonOf(expectRpcError(await sendCall('weather', { city: 'Porto' }, { version: 'banana' }), -32602))).toBe('invalid_version');
    expect(reasonOf(expectRpcError(await sendCall('no-such-tool', { city: 'Porto' }), -32602))).toBe('unknown_tool');
  });

  it('a deprecated version still answers, with a note; a retired one is tool_retired', async () => {
    expect((await admin('/admin/v1/tools/weather/versions/1.0.0/deprecate')).status).toBe(200);
    await waitFor(async () => {
      const task = expectResult(await sendCall('weather', { city: 'Faro' }, { version: '1.0.0' })).task;
      return task.metadata.deprecation !== undefined;
    });
    const task = expectResult(await sendCall('weather', { city: 'Faro' }, { version: '1.0.0' })).task;
    expect(task.status.state).toBe('TASK_STATE_COMPLETED');
    expect(task.metadata.deprecation).toBe('weather 1.0.0 is deprecated; 1.1.0 is the newest active version');
    const fetched = expectResult(await call(gateway, request('GetTask', { id: task.id }), key));
    expect(fetched.metadata.deprecation).toBe(task.metadata.deprecation);

    expect((await admin('/admin/v1/tools/weather/versions/1.0.0/retire')).status).toBe(200);
    await waitFor(async () => (await sendCall('weather', { city: 'Faro' }, { version: '1.0.0' })).body.error !== undefined);
    const before = await balance();
    const retired = expectRpcError(await sendCall('weather', { city: 'Faro' }, { version: '1.0.0' }), -32602);
    expect(reasonOf(retired)).toBe('tool_retired');
    expect(await balance()).toBe(before);
    // a range skips the retired version
    expect(expectResult(await sendCall('weather', { city: 'Faro' }, { version: '~1.0.0 || ~1.1.0' })).task.metadata.tool_version).toBe(
      '1.1.0',
    );
  });

  it('every kind of upstream failure is a failed task that moves no money', async () => {
    await register('weather-busy', '1.0.0', '/status');
    await register('weather-text', '1.0.0', '/text');
    await register('weather-misfit', '1.0.0', '/misfit');
    await register('weather-slow', '1.0.0', '/slow', { upstream: { url: `${upstream.baseUrl}/slow`, timeoutMs: 300 } });
    await register('weather-gone', '1.0.0', '/weather', { upstream: { url: 'http://127.0.0.1:9/nothing-listens', timeoutMs: 2_000 } });
    const before = await balance();
    const cases: Array<[string, string, string]> = [
      ['weather-busy', 'upstream_failed', 'HTTP 503'],
      ['weather-text', 'upstream_failed', 'not JSON'],
      ['weather-misfit', 'upstream_failed', 'result schema'],
      ['weather-slow', 'timeout', '300 ms'],
      ['weather-gone', 'upstream_failed', 'could not reach'],
    ];
    for (const [tool, reason, text] of cases) {
      const reply = await waitForAnswer(() => sendCall(tool, { city: 'Braga' }));
      const task = expectResult(reply).task;
      expect(task.status.state, tool).toBe('TASK_STATE_FAILED');
      expect(task.metadata.charged, tool).toBe(false);
      const error = task.status.message.parts.find((part: { data?: unknown }) => part.data).data.error;
      expect(error.reason, tool).toBe(reason);
      expect(error.message, tool).toContain(text);
      expect(error.message, tool).toContain('nothing was charged');
    }
    expect(await balance()).toBe(before);
  });

  /** Calls until the catalog knows the tool (registrations reach the catalog by NOTIFY), then answers that reply. */
  async function waitForAnswer(send: () => ReturnType<typeof sendCall>) {
    let reply = await send();
    await waitFor(async () => {
      reply = await send();
      return reply.body.error === undefined;
    });
    return reply;
  }

  it('a held tool is cancellable: the upstream sees its request aborted, and the hold is released', async () => {
    await register('weather-held', '1.0.0', '/slow', {
      settlement: 'hold',
      tier: 3,
      upstream: { url: `${upstream.baseUrl}/slow`, timeoutMs: 60_000 },
    });
    await waitFor(async () => {
      const reply = await call(
        gateway,
        request('SendMessage', v1Send([v1Data({ tool: 'weather-held', version: '9.9.9', arguments: {} })])),
        key,
      );
      return reasonOf(reply.body.error as never) === 'no_matching_version';
    });
    const before = await account(gateway, orgId);
    const abortedBefore = abortedSlow;
    const task = expectResult(await sendCall('weather-held', { city: 'Evora' }, { returnImmediately: true })).task;
    expect(task.status.state).toBe('TASK_STATE_WORKING');
    expect((await account(gateway, orgId))?.reserved).toBe((before?.reserved ?? 0n) + 200_000n);
    await waitFor(() => received.some((entry) => entry.path === '/slow' && entry.headers['x-paygate-task-id'] === task.id));
    const canceled = expectResult(await call(gateway, request('CancelTask', { id: task.id }), key));
    expect(canceled.status.state).toBe('TASK_STATE_CANCELED');
    await waitFor(() => abortedSlow > abortedBefore);
    expect(await account(gateway, orgId)).toEqual(before);
  });

  it('usage by tier counts a catalog tool in its tier', async () => {
    const response = await fetch(`${gateway.baseUrl}/v1/usage?by=tier`, { headers: { authorization: `Bearer ${key}` } });
    expect(response.status).toBe(200);
    const { usage } = (await response.json()) as { usage: { key: string; calls: number }[] };
    expect(usage.map((row) => row.key).sort()).toEqual(['0', '3']);
  });

  it('no provider credential nor signing key appears in any answer or log line', async () => {
    const everything = JSON.stringify(logged.lines);
    expect(everything).not.toContain(PROVIDER_SECRET);
    for (const secret of Object.values(signingSecrets)) expect(everything).not.toContain(secret);
    const listed = await fetch(`${gateway.baseUrl}/admin/v1/tools`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(await listed.text()).not.toContain(PROVIDER_SECRET);
  });
});

describe('upstreams on private networks', () => {
  let gateway: TestGateway;
  let upstream: LoopbackServer;
  let hits = 0;
  beforeAll(async () => {
    upstream = await listenOnLoopback(
      createServer((_req, res) => {
        hits += 1;
        res.writeHead(200).end('{"tempC": 1}');
      }),
    );
    gateway = await startTestGateway({
      upstreamAllowPrivateNetworks: false,
      operator: { adminToken: ADMIN_TOKEN, secretsKey: randomBytes(32) },
    });
    await gateway.listen();
  });
  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  it('are refused unless UPSTREAM_ALLOW_PRIVATE_NETWORKS is set, and nothing is charged', async () => {
    const org = await gateway.createOrg({ credits: CREDITS });
    await registerMinimal(gateway, 'inside', 'a tool on loopback', `${upstream.baseUrl}/run`);
    let task:
      | { status: { state: string; message: { parts: Array<{ data?: { error: { reason: string; details: unknown } } }> } } }
      | undefined;
    await waitFor(async () => {
      const reply = await call(gateway, request('SendMessage', v1Send([v1Data({ tool: 'inside', arguments: {} })])), org.apiKey.key);
      task = reply.body.result?.task;
      return task !== undefined;
    });
    expect(task?.status.state).toBe('TASK_STATE_FAILED');
    const error = task?.status.message.parts.find((part) => part.data)?.data?.error;
    expect(error).toMatchObject({ reason: 'upstream_failed', details: { upstream: 'private_destination' } });
    expect(hits).toBe(0);
    expect((await account(gateway, org.orgId))?.balance).toBe(CREDITS);
  });
});

describe('a second instance (PostgreSQL only: two instances share one database)', needs('postgres'), () => {
  it('calls a tool registered at the first within 2 seconds', async () => {
    const secretsKey = randomBytes(32);
    const upstream = await listenOnLoopback(
      createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"tempC": 3}')),
    );
    const first = await startTestGateway({ operator: { adminToken: ADMIN_TOKEN, secretsKey } });
    const url = first.database.url as string;
    const otherDb = await openDatabase({ ...databaseOptions(url), poolSize: 4 });
    const second = await startTestGateway({
      database: { db: otherDb, url, env: databaseEnv(url), dispose: () => otherDb.close() },
      operator: { adminToken: ADMIN_TOKEN, secretsKey },
    });
    try {
      await first.listen();
      const org = await first.createOrg({ credits: CREDITS });
      const callAtSecond = () => call(second, request('SendMessage', v1Send([v1Data({ tool: 'fresh', arguments: {} })])), org.apiKey.key);
      expect(reasonOfReply(await callAtSecond())).toBe('unknown_tool');
      const registeredAt = Date.now();
      await registerMinimal(first, 'fresh', 'registered at the first instance', `${upstream.baseUrl}/run`);
      let state: string | undefined;
      let last: unknown;
      while (Date.now() - registeredAt < 2_000 && state === undefined) {
        const reply = await callAtSecond();
        last = reply.body;
        state = reply.body.result?.task?.status.state;
        // a refusal answers without I/O: without a pause the loop would keep the notification from being read
        if (state === undefined) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(state, JSON.stringify(last)).toBe('TASK_STATE_COMPLETED');
    } finally {
      await second.close();
      await otherDb.close();
      await first.close();
      await upstream.close();
    }
  });
});

/** Registers a minimal tool at `target` through the operator API: any arguments, no result schema. */
async function registerMinimal(target: TestGateway, name: string, description: string, url: string): Promise<void> {
  const registered = await fetch(`${target.baseUrl}/admin/v1/tools`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
    body: JSON.stringify({
      name,
      version: '1.0.0',
      description,
      tier: 0,
      settlement: 'instant',
      argumentsSchema: { type: 'object' },
      upstream: { url },
    }),
  });
  expect(registered.status).toBe(201);
}

function reasonOfReply(reply: { body: { error?: { data?: unknown } } }): string | undefined {
  return (reply.body.error?.data as { reason?: string } | undefined)?.reason;
}
