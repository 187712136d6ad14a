import { createServer } from 'node:http';
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { PUSH_IN_FLIGHT_PER_ORG, startPushDispatcher } from '../../src/a2a/push-delivery.js';
import { seedDemoData } from '../../src/db/demo-data.js';
import { UNOBSERVED } from '../../src/domain/observer.js';
import { MAX_OPEN_PUSH_CONFIGS_PER_ORG, MAX_PUSH_CONFIGS_PER_TASK } from '../../src/push/configs.js';
import { call, expectResult, expectRpcError, request, toolCall, v1Data, v1Send, v1Text, v03Send, v03Text } from '../a2a/support.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { type LoopbackServer, listenOnLoopback } from '../helpers/loopback.js';
import { useSeededGateway } from '../helpers/seeded-gateway.js';
import { waitFor } from '../helpers/wait.js';

/**
 * One organization cannot flood webhooks or hold up another's: configs are limited per task and
 * per organization, and the dispatcher runs a few deliveries per organization at once without
 * waiting for slow ones before claiming more.
 */

describe('push notification limits', () => {
  const suite = useSeededGateway({ demoData: { agents: 2, feedbacksPerAgent: 2, validationsPerAgent: 1 } });

  const hook = (n: number) => `https://hooks.example.com/${n}`;

  it(`a task takes at most ${MAX_PUSH_CONFIGS_PER_TASK} configs; replacing one by id still works; a send past the limit is refused before it runs`, async () => {
    const { apiKey } = await suite.gateway.createOrg();
    const task = expectResult(await call(suite.gateway, request('SendMessage', v1Send([v1Text('hello')])), apiKey.key)).task;
    for (let n = 0; n < MAX_PUSH_CONFIGS_PER_TASK; n += 1) {
      expectResult(
        await call(suite.gateway, request('CreateTaskPushNotificationConfig', { taskId: task.id, id: `c${n}`, url: hook(n) }), apiKey.key),
      );
    }
    const v1 = expectRpcError(
      await call(suite.gateway, request('CreateTaskPushNotificationConfig', { taskId: task.id, url: hook(99) }), apiKey.key),
      -32602,
    );
    expect(v1.data).toMatchObject({ reason: 'push_config_limit', limit: 'task', max: MAX_PUSH_CONFIGS_PER_TASK });
    const v03 = expectRpcError(
      await call(
        suite.gateway,
        request('tasks/pushNotificationConfig/set', { taskId: task.id, pushNotificationConfig: { url: hook(98) } }),
        apiKey.key,
      ),
      -32602,
    );
    expect(v03.data?.reason).toBe('push_config_limit');
    expectResult(
      await call(suite.gateway, request('CreateTaskPushNotificationConfig', { taskId: task.id, id: 'c3', url: hook(33) }), apiKey.key),
    );

    const followUp = expectRpcError(
      await call(
        suite.gateway,
        request('message/send', {
          ...v03Send([v03Text('more')], { taskId: task.id }),
          configuration: { pushNotificationConfig: { url: hook(97) } },
        }),
        apiKey.key,
      ),
      -32602,
    );
    expect(followUp.data?.reason).toBe('push_config_limit');
    const after = expectResult(await call(suite.gateway, request('GetTask', { id: task.id }), apiKey.key));
    expect(after.history).toHaveLength(2); // the refused follow-up was not appended
    expect(
      expectResult(await call(suite.gateway, request('ListTaskPushNotificationConfigs', { taskId: task.id }), apiKey.key)).configs,
    ).toHaveLength(MAX_PUSH_CONFIGS_PER_TASK);
  });

  it(`an organization takes at most ${MAX_OPEN_PUSH_CONFIGS_PER_ORG} configs on its unfinished tasks`, async () => {
    const { apiKey } = await suite.gateway.createOrg();
    const open = async () =>
      expectResult(await call(suite.gateway, request('SendMessage', v1Send([v1Text('hello')])), apiKey.key)).task.id as string;
    for (let t = 0; t < MAX_OPEN_PUSH_CONFIGS_PER_ORG / MAX_PUSH_CONFIGS_PER_TASK; t += 1) {
      const taskId = await open();
      await Promise.all(
        Array.from({ length: MAX_PUSH_CONFIGS_PER_TASK }, async (_, n) =>
          expectResult(await call(suite.gateway, request('CreateTaskPushNotificationConfig', { taskId, url: hook(n) }), apiKey.key)),
        ),
      );
    }
    const taskId = await open();
    const refused = expectRpcError(
      await call(suite.gateway, request('CreateTaskPushNotificationConfig', { taskId, url: hook(0) }), apiKey.key),
      -32602,
    );
    expect(refused.data).toMatchObject({ reason: 'push_config_limit', limit: 'organization', max: MAX_OPEN_PUSH_CONFIGS_PER_ORG });
    // A send that would open a task with a webhook is refused before it opens anything.
    const send = expectRpcError(
      await call(
        suite.gateway,
        request('SendMessage', {
          ...v1Send([v1Data(toolCall('getAgentProfile', { agentId: 1 }))]),
          configuration: { taskPushNotificationConfig: { url: hook(1) } },
        }),
        apiKey.key,
      ),
      -32602,
    );
    expect(send.data?.reason).toBe('push_config_limit');
    // Webhooks on finished tasks post no more changes and do not count.
    const done = expectResult(
      await call(suite.gateway, request('SendMessage', v1Send([v1Data(toolCall('getAgentProfile', { agentId: 1 }))])), apiKey.key),
    ).task;
    expect(done.status.state).toBe('TASK_STATE_COMPLETED');
    expectResult(await call(suite.gateway, request('CreateTaskPushNotificationConfig', { taskId: done.id, url: hook(2) }), apiKey.key));
  });
});

describe('push delivery is fair between organizations', () => {
  let gateway: TestGateway;
  let stop: () => Promise<void>;
  let silent: LoopbackServer;
  let receiver: LoopbackServer;
  /** requests the never-answering listener holds open */
  let hanging = 0;
  const delivered: string[] = [];

  beforeAll(async () => {
    gateway = await startTestGateway();
    await seedDemoData(gateway.database.db, { now: new Date(), agents: 2, feedbacksPerAgent: 2, validationsPerAgent: 1 });
    silent = await listenOnLoopback(
      createServer((req, res) => {
        hanging += 1;
        res.on('close', () => (hanging -= 1)); // the gateway gave up (its timeout) or the test ended
        req.resume(); // reads the post and never answers
      }),
    );
    receiver = await listenOnLoopback(
      createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => {
          delivered.push(Buffer.concat(chunks).toString('utf8'));
          res.writeHead(204).end();
        });
      }),
    );
  });
  afterAll(async () => {
    await silent?.close();
    await stop?.();
    await receiver?.close();
    await gateway?.close();
  });

  it("another organization's notice arrives while one organization's webhooks that never answer are still pending", async () => {
    const slowOrg = await gateway.createOrg();
    for (let t = 0; t < 5; t += 1) {
      const task = expectResult(
        await call(gateway, request('SendMessage', v1Send([v1Data(toolCall('getAgentProfile', { agentId: 1 }))])), slowOrg.apiKey.key),
      ).task;
      for (let n = 0; n < MAX_PUSH_CONFIGS_PER_TASK; n += 1) {
        expectResult(
          await call(
            gateway,
            request('CreateTaskPushNotificationConfig', { taskId: task.id, url: `${silent.baseUrl}/hook/${n}` }),
            slowOrg.apiKey.key,
          ),
        );
      }
    }
    const otherOrg = await gateway.createOrg();
    const task = expectResult(
      await call(gateway, request('SendMessage', v1Send([v1Data(toolCall('getAgentProfile', { agentId: 2 }))])), otherOrg.apiKey.key),
    ).task;
    expectResult(
      await call(
        gateway,
        request('CreateTaskPushNotificationConfig', { taskId: task.id, url: `${receiver.baseUrl}/hook` }),
        otherOrg.apiKey.key,
      ),
    );

    // Everything is due when the dispatcher starts; the slow organization's 50 notices came first.
    stop = startPushDispatcher({
      db: gateway.database.db,
      log: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
      allowPrivateNetworks: true,
      observe: UNOBSERVED,
      intervalMs: 30,
    });
    await waitFor(
      () => delivered.some((body) => (JSON.parse(body) as { task: { id: string } }).task.id === task.id),
      'the other organization’s notice',
    );

    // The slow organization's first deliveries, started with it, are held open; none has ended
    // (they would only by the delivery timeout), so the other notice did not wait behind them.
    await waitFor(() => hanging >= PUSH_IN_FLIGHT_PER_ORG, 'the slow organization’s deliveries to be held open');
    const slow = await gateway.database.db.rows(
      z.object({ failed: z.number() }),
      sql`select count(*) filter (where attempts > 0 or last_error is not null)::int as failed from push_configs where org_id = ${slowOrg.orgId}`,
    );
    expect(slow[0]?.failed).toBe(0);
    // and the slow organization never had more than its share in flight
    expect(hanging).toBeLessThanOrEqual(PUSH_IN_FLIGHT_PER_ORG);
  });
});
