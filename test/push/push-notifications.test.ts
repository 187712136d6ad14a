import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { dispatchPushNotifications, startPushDispatcher } from '../../src/a2a/push-delivery.js';
import { seedDemoData } from '../../src/db/demo-data.js';
import { UNOBSERVED } from '../../src/domain/observer.js';
import { createGatewayMetrics } from '../../src/metrics/registry.js';
import { countPushBacklog } from '../../src/push/deliveries.js';
import { call, expectResult, expectRpcError, request, toolCall, v1Data, v1Send, v03Data, v03Send } from '../a2a/support.js';
import { type FakeLlm, startFakeLlm } from '../helpers/fake-llm.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { listenOnLoopback } from '../helpers/loopback.js';
import { waitFor } from '../helpers/wait.js';

const quietLog = pino({ level: 'silent' });

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * A webhook receiver on loopback: records every POST it takes, and the time of every POST it got
 * (`attemptsAt`, failed ones included); answers 500 to the first `failFirst` ones.
 */
async function startReceiver(): Promise<{
  url: string;
  received: Received[];
  attemptsAt: number[];
  failFirst: number;
  close(): Promise<void>;
}> {
  const receiver = { url: '', received: [] as Received[], attemptsAt: [] as number[], failFirst: 0, close: async () => {} };
  const server: Server = createServer(async (req, res) => {
    receiver.attemptsAt.push(Date.now());
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (receiver.attemptsAt.length <= receiver.failFirst) {
      res.writeHead(500).end();
      return;
    }
    receiver.received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
    res.writeHead(204).end();
  });
  const loopback = await listenOnLoopback(server);
  receiver.url = `${loopback.baseUrl}/hook`;
  receiver.close = loopback.close;
  return receiver;
}

function expectSigned(received: Received, token: string): void {
  expect(received.headers['x-a2a-notification-token']).toBe(token);
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(received.headers['x-a2a-signature']));
  expect(match).not.toBeNull();
  const expected = createHmac('sha256', token).update(`${match?.[1]}.${received.body}`).digest('hex');
  expect(match?.[2]).toBe(expected);
}

describe('push notifications', () => {
  let llm: FakeLlm;
  let gateway: TestGateway;
  let key: string;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let stopDispatcher: () => Promise<void>;

  beforeAll(async () => {
    llm = await startFakeLlm();
    gateway = await startTestGateway({ llm: { baseUrl: llm.baseUrl, timeoutMs: 5_000 } });
    await seedDemoData(gateway.database.db, { now: new Date(), agents: 2, feedbacksPerAgent: 4, validationsPerAgent: 1 });
    stopDispatcher = startPushDispatcher({
      db: gateway.database.db,
      log: quietLog,
      observe: UNOBSERVED,
      allowPrivateNetworks: true,
      intervalMs: 30,
    });
  });
  afterAll(async () => {
    await stopDispatcher?.();
    await gateway?.close();
    await llm?.close();
  });
  beforeEach(async () => {
    key = (await gateway.createOrg({ credits: 10_000_000n })).apiKey.key;
    receiver = await startReceiver();
  });

  it('a webhook given with a non-blocking send gets each status change of the task, signed with its token', async () => {
    llm.script('wait');
    const token = 'hook-secret-1';
    const answer = await call(
      gateway,
      request('SendMessage', {
        ...v1Send([v1Data(toolCall('getReputationReport', { agentId: 1 }))]),
        configuration: { returnImmediately: true, taskPushNotificationConfig: { url: receiver.url, token } },
      }),
      key,
    );
    const taskId = expectResult(answer).task.id as string;
    await waitFor(() => receiver.received.length >= 1);
    await llm.received(1);
    llm.release();
    await waitFor(() => receiver.received.some((hit) => JSON.parse(hit.body).task.status.state === 'TASK_STATE_COMPLETED'));

    const states = receiver.received.map((hit) => JSON.parse(hit.body).task.status.state);
    expect(states[0]).toBe('TASK_STATE_WORKING');
    expect(states.at(-1)).toBe('TASK_STATE_COMPLETED');
    for (const hit of receiver.received) {
      expect(JSON.parse(hit.body).task.id).toBe(taskId);
      expectSigned(hit, token);
    }
    await receiver.close();
  });

  it('a failing webhook is retried with backoff until it takes the notification (A2A 0.3 shapes)', async () => {
    receiver.failFirst = 2;
    const task = expectResult(
      await call(gateway, request('message/send', v03Send([v03Data(toolCall('getAgentProfile', { agentId: 1 }))])), key),
    );
    const set = expectResult(
      await call(
        gateway,
        request('tasks/pushNotificationConfig/set', { taskId: task.id, pushNotificationConfig: { url: receiver.url, token: 't-03' } }),
        key,
      ),
    );
    expect(set).toEqual({ taskId: task.id, pushNotificationConfig: { url: receiver.url, id: expect.any(String) } });
    await waitFor(() => receiver.received.length >= 1, 'a delivery', 10_000);
    expect(JSON.parse(receiver.received[0]?.body ?? '{}')).toMatchObject({ kind: 'task', id: task.id, status: { state: 'completed' } });
    expectSigned(receiver.received[0] as Received, 't-03');
    const configOf = async () =>
      (
        await gateway.database.db.rows(
          z.object({ attempts: z.number(), lastError: z.string().nullable(), delivered: z.boolean() }),
          sql`select attempts, last_error as "lastError", delivered_version is not null as delivered from push_configs where task_id = ${task.id}`,
        )
      )[0];
    await waitFor(async () => (await configOf())?.delivered === true);
    expect(await configOf()).toEqual({ attempts: 0, lastError: null, delivered: true });
    // Delivered is recorded after the POST that took it, so every POST has arrived by now: two
    // refused, one taken. The waits between them follow the backoff (1 s, then 2 s; at least that).
    expect(receiver.attemptsAt).toHaveLength(3);
    expect(receiver.received).toHaveLength(1);
    const [first, second, third] = receiver.attemptsAt as [number, number, number];
    expect(second - first).toBeGreaterThanOrEqual(900);
    expect(third - second).toBeGreaterThanOrEqual(1_900);
    await receiver.close();
  }, 15_000);

  it('configs are created, read, listed and deleted per task; another organization’s task is not found; a bad URL is refused', async () => {
    const task = expectResult(
      await call(gateway, request('SendMessage', v1Send([v1Data(toolCall('getAgentProfile', { agentId: 2 }))])), key),
    ).task;
    const created = expectResult(
      await call(gateway, request('CreateTaskPushNotificationConfig', { taskId: task.id, id: 'main', url: receiver.url }), key),
    );
    expect(created).toEqual({ id: 'main', taskId: task.id, url: receiver.url });
    expect(expectResult(await call(gateway, request('GetTaskPushNotificationConfig', { taskId: task.id, id: 'main' }), key))).toEqual(
      created,
    );
    expect(expectResult(await call(gateway, request('ListTaskPushNotificationConfigs', { taskId: task.id }), key))).toEqual({
      configs: [created],
      nextPageToken: '',
    });
    expect(expectResult(await call(gateway, request('ListTaskPushNotificationConfigs', { taskId: task.id, pageSize: 1 }), key))).toEqual({
      configs: [created],
      nextPageToken: '',
    });
    for (const pageSize of [0, 101, 2 ** 53]) {
      expectRpcError(await call(gateway, request('ListTaskPushNotificationConfigs', { taskId: task.id, pageSize }), key), -32602);
    }
    expect(expectResult(await call(gateway, request('DeleteTaskPushNotificationConfig', { taskId: task.id, id: 'main' }), key))).toEqual(
      {},
    );
    expect(expectResult(await call(gateway, request('ListTaskPushNotificationConfigs', { taskId: task.id }), key)).configs).toEqual([]);

    const stranger = (await gateway.createOrg()).apiKey.key;
    expectRpcError(
      await call(gateway, request('CreateTaskPushNotificationConfig', { taskId: task.id, url: receiver.url }), stranger),
      -32001,
    );
    const bad = expectRpcError(
      await call(gateway, request('CreateTaskPushNotificationConfig', { taskId: task.id, url: 'file:///etc/passwd' }), key),
      -32602,
    );
    expect(bad.data?.reason).toBe('invalid_webhook_url');
    const nul = expectRpcError(
      await call(gateway, request('CreateTaskPushNotificationConfig', { taskId: task.id, url: receiver.url, token: 'a\u0000b' }), key),
      -32602,
    );
    expect(nul.data?.reason).toBe('unsupported_input');
    await receiver.close();
  });

  it('A2A 1.0 authentication {scheme, credentials} goes with each delivery as Authorization; reads show the scheme, never the secrets', async () => {
    llm.script('wait');
    const authentication = { scheme: 'Bearer', credentials: 'hook-credential-1.0' };
    const answer = await call(
      gateway,
      request('SendMessage', {
        ...v1Send([v1Data(toolCall('getReputationReport', { agentId: 2 }))]),
        configuration: {
          returnImmediately: true,
          taskPushNotificationConfig: { id: 'auth', url: receiver.url, token: 'tok-1', authentication },
        },
      }),
      key,
    );
    const taskId = expectResult(answer).task.id as string;
    await waitFor(() => receiver.received.length >= 1);
    await llm.received(1);
    llm.release();
    await waitFor(() => receiver.received.some((hit) => JSON.parse(hit.body).task.status.state === 'TASK_STATE_COMPLETED'));
    for (const hit of receiver.received) {
      expect(hit.headers.authorization).toBe('Bearer hook-credential-1.0');
      expectSigned(hit, 'tok-1');
    }

    const read = expectResult(await call(gateway, request('GetTaskPushNotificationConfig', { taskId, id: 'auth' }), key));
    expect(read).toEqual({ id: 'auth', taskId, url: receiver.url, authentication: { scheme: 'Bearer' } });
    const listed = expectResult(await call(gateway, request('ListTaskPushNotificationConfigs', { taskId }), key));
    expect(listed.configs).toEqual([read]);
    const created = expectResult(
      await call(gateway, request('CreateTaskPushNotificationConfig', { taskId, id: 'second', url: receiver.url, authentication }), key),
    );
    expect(created).toEqual({ id: 'second', taskId, url: receiver.url, authentication: { scheme: 'Bearer' } });
    for (const text of [JSON.stringify(read), JSON.stringify(listed), JSON.stringify(created)]) {
      expect(text).not.toContain('hook-credential-1.0');
      expect(text).not.toContain('tok-1');
    }
    await receiver.close();
  });

  it('A2A 0.3 authentication {schemes, credentials} sends its first scheme; a failed delivery logs no credentials', async () => {
    await stopDispatcher();
    const lines: string[] = [];
    const capturing = pino({ level: 'trace' }, { write: (line: string) => void lines.push(line) });
    try {
      receiver.failFirst = 1;
      const task = expectResult(
        await call(gateway, request('message/send', v03Send([v03Data(toolCall('getAgentProfile', { agentId: 2 }))])), key),
      );
      const set = expectResult(
        await call(
          gateway,
          request('tasks/pushNotificationConfig/set', {
            taskId: task.id,
            pushNotificationConfig: {
              url: receiver.url,
              authentication: { schemes: ['Basic', 'Bearer'], credentials: 'dXNlcjpzZWNyZXQtMDM=' },
            },
          }),
          key,
        ),
      );
      expect(set).toEqual({
        taskId: task.id,
        pushNotificationConfig: { id: expect.any(String), url: receiver.url, authentication: { schemes: ['Basic'] } },
      });
      const got = expectResult(await call(gateway, request('tasks/pushNotificationConfig/get', { id: task.id }), key));
      expect(JSON.stringify(got)).not.toContain('dXNlcjpzZWNyZXQtMDM=');

      const metrics = createGatewayMetrics({ sources: { pushBacklog: () => countPushBacklog(gateway.database.db) } });
      const delivered = async (outcome: string) =>
        (await metrics.registry.getSingleMetric('paygate_push_deliveries_total')?.get())?.values.find(
          (sample) => sample.labels.outcome === outcome,
        )?.value ?? 0;
      await dispatchPushNotifications({
        db: gateway.database.db,
        log: capturing,
        observe: metrics,
        allowPrivateNetworks: true,
        batch: 20,
      });
      expect(lines.some((line) => line.includes('push notification failed'))).toBe(true);
      // every failed delivery of the pass (this receiver's first, and any left over from earlier tests) is counted once
      const failedLines = () => lines.filter((line) => line.includes('push notification failed')).length;
      expect([await delivered('failed'), await delivered('delivered')]).toEqual([failedLines(), 0]);
      expect(await metrics.registry.metrics()).toMatch(/^paygate_push_backlog [1-9]/m);
      await gateway.database.db.run(sql`update push_configs set next_attempt_at = now() where task_id = ${task.id}`);
      await dispatchPushNotifications({
        db: gateway.database.db,
        log: capturing,
        observe: metrics,
        allowPrivateNetworks: true,
        batch: 20,
      });
      expect(receiver.received).toHaveLength(1);
      expect([await delivered('failed'), await delivered('delivered')]).toEqual([failedLines(), 1]);
      expect(receiver.received[0]?.headers.authorization).toBe('Basic dXNlcjpzZWNyZXQtMDM=');
      expect(receiver.received[0]?.headers['x-a2a-notification-token']).toBeUndefined();
      expect(lines.join('\n')).not.toContain('dXNlcjpzZWNyZXQtMDM=');
    } finally {
      stopDispatcher = startPushDispatcher({
        db: gateway.database.db,
        log: quietLog,
        observe: UNOBSERVED,
        allowPrivateNetworks: true,
        intervalMs: 30,
      });
      await receiver.close();
    }
  });

  it('authentication is bounded and must fit an HTTP header: -32602 before anything is stored', async () => {
    const task = expectResult(
      await call(gateway, request('SendMessage', v1Send([v1Data(toolCall('getAgentProfile', { agentId: 1 }))])), key),
    ).task;
    for (const authentication of [
      { scheme: 'Bearer', credentials: 'x'.repeat(4097) },
      { scheme: 'Bearer', credentials: 'abc\r\nX-Injected: 1' },
      { scheme: 'Bearer', credentials: 'ünïcode' },
      { scheme: 'Bear er', credentials: 'abc' },
      { scheme: '', credentials: 'abc' },
      { scheme: 'B'.repeat(65), credentials: 'abc' },
      { credentials: 'no scheme' },
    ]) {
      const error = expectRpcError(
        await call(gateway, request('CreateTaskPushNotificationConfig', { taskId: task.id, url: receiver.url, authentication }), key),
        -32602,
      );
      expect(JSON.stringify(error.data)).toContain('authentication');
    }
    for (const authentication of [
      { schemes: [], credentials: 'abc' },
      { schemes: ['Bearer'], credentials: 'y'.repeat(4097) },
    ]) {
      expectRpcError(
        await call(
          gateway,
          request('tasks/pushNotificationConfig/set', { taskId: task.id, pushNotificationConfig: { url: receiver.url, authentication } }),
          key,
        ),
        -32602,
      );
    }
    const stored = await gateway.database.db.rows(
      z.object({ id: z.string() }),
      sql`select id from push_configs where task_id = ${task.id}`,
    );
    expect(stored).toEqual([]);
    // the longest credentials allowed are taken
    expectResult(
      await call(
        gateway,
        request('CreateTaskPushNotificationConfig', {
          taskId: task.id,
          url: receiver.url,
          authentication: { scheme: 'Bearer', credentials: 'z'.repeat(4096) },
        }),
        key,
      ),
    );
    await receiver.close();
  });

  it('refuses to deliver to loopback or private addresses unless they are allowed', async () => {
    await stopDispatcher();
    try {
      const task = expectResult(
        await call(gateway, request('SendMessage', v1Send([v1Data(toolCall('getAgentProfile', { agentId: 1 }))])), key),
      ).task;
      expectResult(await call(gateway, request('CreateTaskPushNotificationConfig', { taskId: task.id, url: receiver.url }), key));
      await dispatchPushNotifications({
        db: gateway.database.db,
        log: quietLog,
        observe: UNOBSERVED,
        allowPrivateNetworks: false,
        batch: 20,
      });
      expect(receiver.received).toHaveLength(0);
      const [config] = await gateway.database.db.rows(
        z.object({ lastError: z.string().nullable() }),
        sql`select last_error as "lastError" from push_configs where task_id = ${task.id}`,
      );
      expect(config?.lastError).toMatch(/private or loopback/);
    } finally {
      stopDispatcher = startPushDispatcher({
        db: gateway.database.db,
        log: quietLog,
        observe: UNOBSERVED,
        allowPrivateNetworks: true,
        intervalMs: 30,
      });
      await receiver.close();
    }
  });
});
