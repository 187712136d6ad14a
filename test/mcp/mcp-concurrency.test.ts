import { randomUUID } from 'node:crypto';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type Database, openDatabase } from '../../src/db/client.js';
import { seedDemoData } from '../../src/db/demo-data.js';
import { account, ledger } from '../a2a/support.js';
import { databaseEnv, databaseOptions } from '../helpers/database.js';
import { type FakeLlm, startFakeLlm } from '../helpers/fake-llm.js';
import { checkLedgerAfterEach, type SettlementMode, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { connectMcp } from '../helpers/mcp-client.js';
import { needs } from '../helpers/requirements.js';
import { useSeededGateway } from '../helpers/seeded-gateway.js';
import { waitFor } from '../helpers/wait.js';
import { createKey, walletOrg } from '../policies/support.js';

/**
 * The MCP front door under the races the A2A one is tested for (test/billing/concurrency.test.ts,
 * test/policies/spend-caps.test.ts): many tools/call at once from several MCP clients, each its
 * own HTTP request, never overdraw a balance or pass a spend cap; and, with two instances on one
 * PostgreSQL database behind one client, any instance answers any request of a session, an
 * idempotency key holds across them, and a cancellation reaching the instance that does not run
 * the call stops it there (through NOTIFY). PGlite has one connection and cannot race, and two
 * instances need a shared server: PostgreSQL only.
 */

const TIER0_COST = 1_000n;
const REPORT_COST = 200_000n;

/** What these tests read of a tools/call result. */
interface ToolResult {
  isError?: boolean;
  structuredContent?: Record<string, unknown>;
  _meta?: Record<string, unknown>;
}

async function callTool(client: Client, name: string, args: Record<string, unknown>, idempotencyKey?: string): Promise<ToolResult> {
  return (await client.callTool({ name, arguments: args, ...(idempotencyKey ? { _meta: { idempotencyKey } } : {}) })) as ToolResult;
}

/**
 * `count` calls of getAgentProfile at once, spread over `clients` MCP clients (each connected
 * first, then all calls sent together, each its own POST).
 */
async function callAtOnce(baseUrl: string, apiKey: string, count: number, clients = 10): Promise<ToolResult[]> {
  const connected = await Promise.all(Array.from({ length: clients }, () => connectMcp(baseUrl, { apiKey })));
  try {
    return await Promise.all(
      Array.from({ length: count }, (_, i) => callTool(connected[i % clients] as Client, 'getAgentProfile', { agentId: (i % 50) + 1 })),
    );
  } finally {
    await Promise.all(connected.map((client) => client.close()));
  }
}

const ledgerCountsRow = z.object({ kind: z.string(), n: z.bigint(), amount: z.bigint() });

async function ledgerCounts(gateway: TestGateway, orgId: string) {
  const rows = await gateway.database.db.rows(
    ledgerCountsRow,
    sql`select kind::text as kind, count(*)::int8 as n, sum(amount)::int8 as amount
          from ledger_entries where org_id = ${orgId} and kind <> 'grant' group by kind`,
  );
  return Object.fromEntries(rows.map((row) => [row.kind, { n: row.n, amount: row.amount }]));
}

/** `calls` Tier 0 calls paid and nothing else: one charge each, or one reserve and one capture each when held; no release. */
function expectPaidFor(ledgerByKind: Record<string, { n: bigint; amount: bigint }>, settlement: SettlementMode, calls: bigint) {
  const paid = { n: calls, amount: -calls * TIER0_COST };
  expect(ledgerByKind).toEqual(settlement === 'hold' ? { reserve: { n: calls, amount: 0n }, capture: paid } : { charge: paid });
}

const taskRow = z.object({ id: z.string(), state: z.string(), lease_owner: z.string().nullable() });

async function tasksOf(gateway: TestGateway, orgId: string) {
  return gateway.database.db.rows(
    taskRow,
    sql`select id::text, state::text, lease_owner from tasks where org_id = ${orgId} order by created_at`,
  );
}

function answered(results: ToolResult[]) {
  return results.filter((result) => !result.isError);
}

describe.each(['by-tool', 'hold'] as const)(
  'MCP tools/call racing for money, settlement %s (PostgreSQL only: PGlite has one connection and cannot race)',
  needs('postgres'),
  (settlement) => {
    const suite = useSeededGateway({ gateway: { settlement }, listen: true });

    it('200 Tier 0 calls at once from 10 MCP clients on credits for exactly 37: 37 answer, 163 are refused free, nothing is overdrawn', async () => {
      const org = await suite.gateway.createOrg({ credits: 37n * TIER0_COST });
      const results = await callAtOnce(suite.baseUrl, org.apiKey.key, 200);

      const paid = answered(results);
      const refused = results.filter((result) => result.isError);
      expect(paid).toHaveLength(37);
      expect(refused).toHaveLength(163);
      for (const result of refused) {
        expect(result._meta).toMatchObject({ reason: 'insufficient_credits', charged: false, costMicroUsdc: '0' });
      }
      for (const result of paid) {
        expect(result._meta).toMatchObject({ state: 'completed', charged: true, costMicroUsdc: '1000' });
        expect(result.structuredContent).toBeDefined();
      }
      const taskIds = new Set(paid.map((result) => result._meta?.taskId));
      expect(taskIds.size).toBe(37);

      expect(await account(suite.gateway, org.orgId)).toEqual({ balance: 0n, reserved: 0n });
      expectPaidFor(await ledgerCounts(suite.gateway, org.orgId), settlement, 37n);
      const tasks = await tasksOf(suite.gateway, org.orgId);
      expect(tasks).toHaveLength(37);
      expect(tasks.every((task) => task.state === 'completed')).toBe(true);
      expect(new Set(tasks.map((task) => task.id))).toEqual(taskIds);
    });

    it('200 Tier 0 calls at once at a key whose daily cap covers exactly 37: 37 answer, the rest are refused spend_cap_exceeded', async () => {
      const owner = await walletOrg(suite.gateway, 1_000_000n);
      const key = await createKey(suite.gateway, owner, { spendCap: { amountMicroUsdc: String(37n * TIER0_COST), period: 'day' } });
      const results = await callAtOnce(suite.baseUrl, key.key, 200);

      const paid = answered(results);
      const refused = results.filter((result) => result.isError);
      expect(paid).toHaveLength(37);
      expect(refused).toHaveLength(163);
      for (const result of refused) {
        expect(result._meta).toMatchObject({
          reason: 'spend_cap_exceeded',
          charged: false,
          details: { scope: 'key', period: 'day', cap: '37000', required: '1000' },
        });
      }
      expect(new Set(paid.map((result) => result._meta?.taskId)).size).toBe(37);

      expect(await account(suite.gateway, owner.orgId)).toEqual({ balance: 1_000_000n - 37n * TIER0_COST, reserved: 0n });
      const [counters] = await suite.gateway.database.db.rows(
        z.object({ day: z.bigint(), month: z.bigint(), reserved: z.bigint() }),
        sql`select day_spent as day, month_spent as month, reserved from api_keys where id = ${key.id}`,
      );
      expect(counters).toEqual({ day: 37_000n, month: 37_000n, reserved: 0n });
      expectPaidFor(await ledgerCounts(suite.gateway, owner.orgId), settlement, 37n);
      expect(await tasksOf(suite.gateway, owner.orgId)).toHaveLength(37);
    });
  },
);

/** A JSON-RPC message's method as the client sent it ('response' for its answer to a server's request), or the HTTP method. */
function methodOf(init: RequestInit | undefined): string {
  if (typeof init?.body !== 'string') return init?.method ?? 'GET';
  const message = JSON.parse(init.body) as { method?: string } | { method?: string }[];
  const first = Array.isArray(message) ? message[0] : message;
  return first?.method ?? 'response';
}

/**
 * A client-side fetch that sends each POST to the next of `origins` in turn (GETs, the client's
 * optional standalone stream, always to the first, so they do not shift the turns), unless a
 * method is pinned to one; `sent` says where each request went.
 */
function alternating(origins: string[]) {
  const sent: { method: string; to: number }[] = [];
  const pinned = new Map<string, number>();
  let turn = 0;
  const route: typeof fetch = (input, init) => {
    if (input instanceof Request) throw new Error('the MCP client passes a URL, not a Request');
    const method = methodOf(init);
    const to = pinned.get(method) ?? (init?.method === 'POST' ? turn++ % origins.length : 0);
    sent.push({ method, to });
    const url = new URL(input);
    const target = new URL(`${url.pathname}${url.search}`, origins[to]);
    return fetch(target, init);
  };
  return {
    fetch: route,
    sent,
    pinned,
    where: (method: string) => sent.filter((entry) => entry.method === method).map((entry) => entry.to),
  };
}

describe('two gateway instances on one PostgreSQL database serving one MCP client alternately (PostgreSQL only)', needs('postgres'), () => {
  const CREDITS = 10_000_000n;
  let llm: FakeLlm;
  let first: TestGateway;
  let second: TestGateway;
  let secondDb: Database;

  beforeAll(async () => {
    llm = await startFakeLlm();
    // a tool's run is stopped by its cancellation, never by its LLM timeout, in these tests
    const options = { llm: { baseUrl: llm.baseUrl, timeoutMs: 20_000 } };
    first = await startTestGateway(options);
    await seedDemoData(first.database.db, { now: new Date(), agents: 3, feedbacksPerAgent: 5, validationsPerAgent: 2 });
    const url = first.database.url as string;
    // its own pool and its own LISTEN connection, as another process would have
    secondDb = await openDatabase({ ...databaseOptions(url), poolSize: 10 });
    second = await startTestGateway({
      ...options,
      database: { db: secondDb, url, env: databaseEnv(url), dispose: () => secondDb.close() },
    });
    await first.listen();
    await second.listen();
  });
  afterAll(async () => {
    llm?.release();
    await second?.close();
    await secondDb?.close();
    await first?.close();
    await llm?.close();
  });
  // both instances write one database: reading it through the first sees every account
  checkLedgerAfterEach(() => [first]);

  async function connectAlternately(apiKey: string) {
    const route = alternating([first.baseUrl, second.baseUrl]);
    const client = await connectMcp(first.baseUrl, { apiKey, fetch: route.fetch });
    return { client, route };
  }

  it('initialize, tools/list and paid tools/call work whichever instance answers; each call moves the balance by its price', async () => {
    const org = await first.createOrg({ credits: CREDITS });
    const { client, route } = await connectAlternately(org.apiKey.key);
    try {
      const listedA = await client.listTools();
      const listedB = await client.listTools();
      expect(listedA.tools.map((tool) => tool.name)).toContain('getReputationReport');
      expect(listedB).toEqual(listedA);

      const one = await callTool(client, 'getAgentProfile', { agentId: 1 });
      const two = await callTool(client, 'getAgentProfile', { agentId: 2 });
      for (const [index, result] of [one, two].entries()) {
        expect(result.isError, JSON.stringify(result)).toBeFalsy();
        expect(result._meta).toMatchObject({
          state: 'completed',
          charged: true,
          costMicroUsdc: '1000',
          balanceMicroUsdc: String(CREDITS - BigInt(index + 1) * TIER0_COST),
        });
      }
      expect(one._meta?.taskId).not.toBe(two._meta?.taskId);
      expect(await account(first, org.orgId)).toEqual({ balance: CREDITS - 2n * TIER0_COST, reserved: 0n });

      // the session began at the first instance and was served by both: each listed and answered a call once
      expect(route.where('initialize')).toEqual([0]);
      expect(route.where('tools/list').sort()).toEqual([0, 1]);
      expect(route.where('tools/call').sort()).toEqual([0, 1]);
    } finally {
      await client.close();
    }
  });

  it('a retry with the same idempotencyKey at the other instance is the same call: one task, charged once', async () => {
    const org = await first.createOrg({ credits: CREDITS });
    const { client, route } = await connectAlternately(org.apiKey.key);
    try {
      const idempotencyKey = randomUUID();
      const once = await callTool(client, 'getAgentProfile', { agentId: 3 }, idempotencyKey);
      const again = await callTool(client, 'getAgentProfile', { agentId: 3 }, idempotencyKey);
      const [at, retriedAt] = route.where('tools/call');
      expect(retriedAt).not.toBe(at);

      for (const result of [once, again]) {
        expect(result.isError, JSON.stringify(result)).toBeFalsy();
        expect(result._meta).toMatchObject({ state: 'completed', charged: true, costMicroUsdc: '1000' });
      }
      expect(again._meta?.taskId).toBe(once._meta?.taskId);
      expect(again.structuredContent).toEqual(once.structuredContent);
      expect(await account(first, org.orgId)).toEqual({ balance: CREDITS - TIER0_COST, reserved: 0n });
      expect(await ledgerCounts(first, org.orgId)).toEqual({ charge: { n: 1n, amount: -TIER0_COST } });
      expect(await tasksOf(first, org.orgId)).toHaveLength(1);
    } finally {
      await client.close();
    }
  });

  it('twenty sends of one idempotencyKey at once, spread over both instances: one task, charged once', async () => {
    const org = await first.createOrg({ credits: CREDITS });
    const { client, route } = await connectAlternately(org.apiKey.key);
    try {
      const idempotencyKey = randomUUID();
      const results = await Promise.all(
        Array.from({ length: 20 }, () => callTool(client, 'getAgentProfile', { agentId: 2 }, idempotencyKey)),
      );
      expect(route.where('tools/call').filter((to) => to === 1)).toHaveLength(10);
      for (const result of results) {
        expect(result.isError, JSON.stringify(result)).toBeFalsy();
        expect(result._meta).toMatchObject({ state: 'completed', costMicroUsdc: '1000' });
      }
      expect(new Set(results.map((result) => result._meta?.taskId)).size).toBe(1);
      expect(await account(first, org.orgId)).toEqual({ balance: CREDITS - TIER0_COST, reserved: 0n });
      expect(await ledgerCounts(first, org.orgId)).toEqual({ charge: { n: 1n, amount: -TIER0_COST } });
      expect(await tasksOf(first, org.orgId)).toHaveLength(1);
    } finally {
      await client.close();
    }
  });

  it('a held call cancelled through the other instance: the running instance hears it by NOTIFY, stops the run, cancels the task and releases the hold', async () => {
    const org = await first.createOrg({ credits: CREDITS });
    const { client, route } = await connectAlternately(org.apiKey.key);
    // the call runs at the first instance; its cancellation can reach it only from the second, through PostgreSQL
    route.pinned.set('tools/call', 0);
    route.pinned.set('notifications/cancelled', 1);
    llm.requests.length = 0;
    const abandonedBefore = llm.abandoned;
    llm.script('wait');
    try {
      const cancel = new AbortController();
      const calling = client.callTool({ name: 'getReputationReport', arguments: { agentId: 1 } }, undefined, {
        signal: cancel.signal,
      });
      const settled = calling.then(
        () => 'answered',
        () => 'rejected',
      );
      await llm.received(1);
      const [running] = await tasksOf(first, org.orgId);
      expect(running).toMatchObject({ state: 'working', lease_owner: first.leases.owner });
      expect(await account(first, org.orgId)).toEqual({ balance: CREDITS, reserved: REPORT_COST });

      cancel.abort('the user changed their mind');
      expect(await settled).toBe('rejected');
      await waitFor(
        async () => {
          const [task] = await tasksOf(first, org.orgId);
          return task?.state === 'canceled' && (await account(first, org.orgId))?.reserved === 0n && llm.abandoned > abandonedBefore;
        },
        'the task canceled, its hold released and its LLM request dropped',
        5_000,
      );
      expect(route.where('tools/call')).toEqual([0]);
      expect(route.where('notifications/cancelled')).toEqual([1]);
      expect(llm.abandoned).toBe(abandonedBefore + 1);
      // the run's own end (its abort, its settlement attempt) is late work of the first instance: wait for it
      expect(await first.leases.idle(5_000)).toBe(true);
      expect(second.leases.running()).toBe(0);

      const [task] = await tasksOf(first, org.orgId);
      expect(task?.id).toBe(running?.id);
      expect(task?.state).toBe('canceled');
      expect(await account(first, org.orgId)).toEqual({ balance: CREDITS, reserved: 0n });
      const entries = await ledger(first, org.orgId);
      expect(entries.map((entry) => entry.kind)).toEqual(['grant', 'reserve', 'release']);
      expect(entries.filter((entry) => entry.kind !== 'grant').every((entry) => entry.task_id === running?.id)).toBe(true);
      expect(llm.requests).toHaveLength(1);
    } finally {
      llm.release();
      await client.close();
    }
  });
});
