import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { z } from 'zod';
import { OPERATOR } from '../../src/audit/record.js';
import { createOrganization, type NewOrganization } from '../../src/auth/organizations.js';
import { seedDemoData } from '../../src/db/demo-data.js';
import { buildGateway } from '../helpers/built-gateway.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { type FakeLlm, startFakeLlm } from '../helpers/fake-llm.js';
import { needs } from '../helpers/requirements.js';
import { freePort, type GatewayProcess, outputsOf, pollUntil, startGatewayProcess, waitReady } from './support.js';

/**
 * A Tier 3 report is accepted without blocking by one gateway process, which is SIGKILLed while its
 * LLM call is in flight. A second process on the same database takes the task over once its lease
 * lapses, runs it and completes it: the report is charged exactly once, and the first run, which
 * never answered, charged nothing.
 */

const CREDITS = 10_000_000n;
const REPORT_COST = 200_000n;

describe('a gateway restarted while a report runs (PostgreSQL only: child processes on their own database)', needs('postgres'), () => {
  let database: TestDatabase;
  let llm: FakeLlm;
  let org: NewOrganization;
  const gateways: GatewayProcess[] = [];

  beforeAll(async () => {
    await buildGateway();
    database = await createTestDatabase();
    llm = await startFakeLlm();
    await seedDemoData(database.db, { now: new Date(), agents: 2, feedbacksPerAgent: 5, validationsPerAgent: 2 });
    org = await createOrganization(database.db, { name: 'restart org', credits: CREDITS, by: OPERATOR });
  });
  afterAll(async () => {
    for (const gateway of gateways) await gateway.kill();
    await llm?.close();
    await database?.dispose();
  });

  async function start(name: string): Promise<GatewayProcess> {
    if (!database.url) throw new Error('createTestDatabase gave no URL on PostgreSQL');
    const gateway = startGatewayProcess({
      name,
      databaseUrl: database.url,
      port: await freePort(),
      env: {
        LLM_BASE_URL: llm.baseUrl,
        LLM_MODEL: 'test-model',
        LLM_TIMEOUT_MS: '20000',
        TASK_LEASE_MS: '1000',
        TASK_WORKER_INTERVAL_MS: '200',
      },
    });
    gateways.push(gateway);
    await waitReady(gateway);
    return gateway;
  }

  async function rpc(gateway: GatewayProcess, method: string, params: unknown): Promise<any> {
    const response = await fetch(`${gateway.baseUrl}/a2a`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${org.apiKey.key}` },
      body: JSON.stringify({ jsonrpc: '2.0', id: randomUUID(), method, params }),
    });
    return ((await response.json()) as { result: unknown }).result;
  }

  it('completes the task once, on the second process, and charges it once', async () => {
    onTestFailed(() => console.error(outputsOf(gateways)));
    const first = await start('first');
    llm.script('wait');
    const accepted = await rpc(first, 'SendMessage', {
      message: {
        messageId: randomUUID(),
        role: 'ROLE_USER',
        parts: [{ data: { tool: 'getReputationReport', arguments: { agentId: 1 } } }],
      },
      configuration: { returnImmediately: true },
    });
    expect(accepted.task.status.state).toBe('TASK_STATE_WORKING');
    await llm.received(1);
    await first.kill();

    const second = await start('second');
    const done = await pollUntil(
      'the task to complete on the second process',
      async () => {
        const task = await rpc(second, 'GetTask', { id: accepted.task.id });
        return task.status.state === 'TASK_STATE_WORKING' ? undefined : task;
      },
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    expect(done.status.state).toBe('TASK_STATE_COMPLETED');
    expect(llm.requests).toHaveLength(2);
    llm.release();

    const [money] = await database.db.rows(
      z.object({ balance: z.bigint(), reserved: z.bigint() }),
      sql`select balance, reserved from credit_accounts where org_id = ${org.orgId}`,
    );
    expect(money).toEqual({ balance: CREDITS - REPORT_COST, reserved: 0n });
    const entries = await database.db.rows(
      z.object({ kind: z.string() }),
      sql`select kind::text as kind from ledger_entries where org_id = ${org.orgId} order by id`,
    );
    expect(entries.map((entry) => entry.kind)).toEqual(['grant', 'reserve', 'capture']);
  });
});
