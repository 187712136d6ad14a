import { sql } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { OPERATOR } from '../../src/audit/record.js';
import { createApiKey } from '../../src/auth/api-keys.js';
import type { RateLimiter } from '../../src/limits/rate-limiter.js';
import { openRedisRateLimiter } from '../../src/limits/redis-store.js';
import { updateKeyPolicy } from '../../src/policies/store.js';
import { createToolRegistry } from '../../src/tools/registry.js';
import { call, expectResult, expectRpcError, request, toolCall, v1Data, v1Send } from '../a2a/support.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { useLlmGateway } from '../helpers/llm-suite.js';
import { type OwnRedis, startOwnRedis, uniqueKeyPrefix } from '../helpers/redis.js';
import { useSeededGateway } from '../helpers/seeded-gateway.js';

/**
 * The paid path's Prometheus metrics (issue 17) over real HTTP: after N paid calls, M failures and
 * K refusals each counter moved by exactly N, M and K; what the charged counter says equals what
 * the ledger says was charged; never an organization, key, agent or task id in the exposition.
 */

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
const tiers = createToolRegistry({});
const tierOf = (tool: string) => tiers.find(tool)?.tier ?? 3;

/** Every sample of the exposition, by its series (`name{labels}`). */
async function scrape(gateway: TestGateway): Promise<{ text: string; value(series: string): number }> {
  const response = await gateway.app.request('/metrics');
  expect(response.status).toBe(200);
  const text = await response.text();
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return { text, value: (series) => samples.get(series) ?? 0 };
}

const calls = (tool: string, outcome: string) => `paygate_tool_calls_total{tool="${tool}",tier="${tierOf(tool)}",outcome="${outcome}"}`;
const charged = (tool: string) => `paygate_charged_micro_usdc_total{tool="${tool}"}`;
const refusals = (reason: string) => `paygate_refusals_total{reason="${reason}"}`;

const chargedRow = z.object({ charged: z.bigint() });

/** What the ledger says was charged, over every organization: instant charges and captured holds. */
async function ledgerCharged(gateway: TestGateway): Promise<bigint> {
  const [row] = await gateway.database.db.rows(
    chargedRow,
    sql`select coalesce(-sum(amount), 0)::int8 as charged from ledger_entries where kind in ('charge', 'capture')`,
  );
  return row!.charged;
}

const send = (tool: string, args: Record<string, unknown>) => request('SendMessage', v1Send([v1Data(toolCall(tool, args))]));

describe('instant paid calls: completed, failed and refused, counted exactly', () => {
  const suite = useSeededGateway({ org: { credits: 1_000_000n } });

  it('N completed, M failed, K refused: the counters move by N, M and K; charged equals the ledger', async () => {
    const before = await scrape(suite.gateway);
    const N = 5;
    for (let i = 0; i < N; i++) expectResult(await call(suite.gateway, send('getAgentProfile', { agentId: 1 }), suite.key));
    // An agent that does not exist fails the call's task (the tool ran; nothing charged) and is answered -32602.
    const M = 3;
    for (let i = 0; i < M; i++) expectRpcError(await call(suite.gateway, send('getAgentProfile', { agentId: 987_654 }), suite.key), -32602);

    // Refusals: credit short, a tool outside the key's scope, and a rate limit (before the tool is known).
    const poor = await suite.gateway.createOrg({ credits: 10n });
    expectRpcError(await call(suite.gateway, send('getAgentProfile', { agentId: 1 }), poor.apiKey.key), -32004);
    expectRpcError(await call(suite.gateway, send('getAgentProfile', { agentId: 1 }), poor.apiKey.key), -32004);
    const scoped = await createApiKey(suite.gateway.database.db, { orgId: suite.org.orgId, name: 'scoped', by: OPERATOR });
    await updateKeyPolicy(suite.gateway.database.db, { keyId: scoped.id, patch: { tools: ['getTrend'] }, by: OPERATOR });
    expectRpcError(await call(suite.gateway, send('getAgentProfile', { agentId: 1 }), scoped.key), -32004);
    const limited = await createApiKey(suite.gateway.database.db, { orgId: suite.org.orgId, name: 'limited', by: OPERATOR });
    await updateKeyPolicy(suite.gateway.database.db, {
      keyId: limited.id,
      patch: { rateLimit: { requests: 1, windowSeconds: 3600 } },
      by: OPERATOR,
    });
    expectResult(await call(suite.gateway, send('getAgentProfile', { agentId: 1 }), limited.key));
    const batch = [1, 2, 3].map((id) => ({ ...send('getAgentProfile', { agentId: 1 }), id }));
    expect((await call(suite.gateway, batch, limited.key)).status).toBe(429);

    const after = await scrape(suite.gateway);
    const moved = (series: string) => after.value(series) - before.value(series);
    expect(moved(calls('getAgentProfile', 'completed'))).toBe(N + 1);
    expect(moved(calls('getAgentProfile', 'failed'))).toBe(M);
    expect(moved(calls('getAgentProfile', 'refused'))).toBe(3);
    expect(moved(refusals('insufficient_credits'))).toBe(2);
    expect(moved(refusals('tool_not_allowed'))).toBe(1);
    // a rate-limited batch counts each of its calls, as the limit does
    expect(moved(refusals('rate_limited'))).toBe(3);
    expect(moved('paygate_tool_duration_seconds_count{tool="getAgentProfile"}')).toBe(N + 1 + M);
    expect(moved(charged('getAgentProfile'))).toBe(Number((BigInt(N) + 1n) * 1_000n));
    expect(after.value('paygate_tasks_working')).toBe(0);

    expect(BigInt(after.value(charged('getAgentProfile')))).toBe(await ledgerCharged(suite.gateway));
    expect(after.text).not.toMatch(UUID);
    for (const secret of [suite.org.orgId, suite.key, poor.orgId, scoped.key, limited.key]) expect(after.text).not.toContain(secret);
  });

  it('a spend cap refusal is counted under its own reason', async () => {
    const before = await scrape(suite.gateway);
    const capped = await createApiKey(suite.gateway.database.db, { orgId: suite.org.orgId, name: 'capped', by: OPERATOR });
    await updateKeyPolicy(suite.gateway.database.db, {
      keyId: capped.id,
      patch: { spendCap: { amountMicroUsdc: 1_500n, period: 'day' } },
      by: OPERATOR,
    });
    expectResult(await call(suite.gateway, send('getAgentProfile', { agentId: 1 }), capped.key));
    expectRpcError(await call(suite.gateway, send('getAgentProfile', { agentId: 1 }), capped.key), -32004);
    const after = await scrape(suite.gateway);
    expect(after.value(refusals('spend_cap_exceeded')) - before.value(refusals('spend_cap_exceeded'))).toBe(1);
    expect(after.value(calls('getAgentProfile', 'refused')) - before.value(calls('getAgentProfile', 'refused'))).toBe(1);
    expect(BigInt(after.value(charged('getAgentProfile')))).toBe(await ledgerCharged(suite.gateway));
  });

  it('the gauges read the pool and the push backlog; without Redis or an indexed chain there is no gauge for them', async () => {
    const exposition = await scrape(suite.gateway);
    expect(exposition.value('paygate_db_pool_size')).toBeGreaterThanOrEqual(1);
    expect(exposition.value('paygate_db_pool_in_use')).toBeGreaterThanOrEqual(0);
    expect(exposition.value('paygate_db_pool_waiting')).toBe(0);
    expect(exposition.text).toContain('# TYPE paygate_push_backlog gauge');
    expect(exposition.value('paygate_push_backlog')).toBe(0);
    // rate limits in this app's memory, no chain indexed: nothing to report on
    expect(exposition.text).not.toContain('paygate_redis_up');
    expect(exposition.text).not.toContain('paygate_indexer_lag_blocks');
  });
});

describe('the gauges of a gateway with a Redis and an indexed chain', () => {
  let redis: OwnRedis;
  let limiter: RateLimiter;
  let gateway: TestGateway;
  beforeAll(async () => {
    redis = await startOwnRedis();
    limiter = await openRedisRateLimiter({
      url: redis.url,
      log: pino({ level: 'silent' }),
      keyPrefix: uniqueKeyPrefix(),
      connectTimeoutMs: 300,
    });
    gateway = await startTestGateway({ rateLimiter: limiter, indexedChainId: 31_337 });
  });
  afterAll(async () => {
    await gateway?.close();
    await limiter?.close();
    await redis?.dispose();
  });

  it('Redis up is 1 while it answers and 0 once it stops; indexer lag is unknown before its first look, then head minus tip', async () => {
    let exposition = await scrape(gateway);
    expect(exposition.value('paygate_redis_up')).toBe(1);
    expect(exposition.text).toMatch(/^paygate_indexer_lag_blocks nan$/im);
    await gateway.database.db.run(sql`
      insert into indexer_state (chain_id, final_block, tip_block, head_block, head_seen_at) values (31337, 90, 100, 112, now())`);
    await redis.stop();
    exposition = await scrape(gateway);
    expect(exposition.value('paygate_indexer_lag_blocks')).toBe(12);
    // the client learns of the closed connection a moment later
    const deadline = Date.now() + 5_000;
    while (exposition.value('paygate_redis_up') !== 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      exposition = await scrape(gateway);
    }
    expect(exposition.value('paygate_redis_up')).toBe(0);
  });
});

describe('held paid calls: captured, released and canceled, counted once', () => {
  const REPORT_COST = 200_000n;
  const suite = useLlmGateway({
    credits: 10_000_000n,
    llmTimeoutMs: 5_000,
    dataset: { agents: 2, feedbacksPerAgent: 5, validationsPerAgent: 2 },
  });
  const report = (configuration?: Record<string, unknown>) =>
    request('SendMessage', {
      ...v1Send([v1Data(toolCall('getReputationReport', { agentId: 1 }))]),
      ...(configuration ? { configuration } : {}),
    });

  it('a completed report is charged and counted; a failed one and a canceled one are not charged', async () => {
    const before = await scrape(suite.gateway);
    expectResult(await call(suite.gateway, report(), suite.key));

    suite.llm.script('fail');
    const failed = expectResult(await call(suite.gateway, report(), suite.key));
    expect(failed.task.status.state).toBe('TASK_STATE_FAILED');

    suite.llm.script('wait');
    const accepted = expectResult(await call(suite.gateway, report({ returnImmediately: true }), suite.key)).task;
    await suite.llm.received(3);
    expect((await scrape(suite.gateway)).value('paygate_tasks_working')).toBe(1);
    expectResult(await call(suite.gateway, request('CancelTask', { id: accepted.id }), suite.key));
    suite.llm.release();
    expect(await suite.gateway.leases.idle(5_000)).toBe(true);

    const after = await scrape(suite.gateway);
    const moved = (series: string) => after.value(series) - before.value(series);
    expect(moved(calls('getReputationReport', 'completed'))).toBe(1);
    expect(moved(calls('getReputationReport', 'failed'))).toBe(1);
    // the canceled run ends too, later, but settles nothing: only the cancel counts it
    expect(moved(calls('getReputationReport', 'canceled'))).toBe(1);
    expect(moved(charged('getReputationReport'))).toBe(Number(REPORT_COST));
    expect(after.value('paygate_tasks_working')).toBe(0);
    expect(BigInt(after.value(charged('getReputationReport')))).toBe(await ledgerCharged(suite.gateway));
  });
});

describe('METRICS=off', () => {
  const suite = useSeededGateway({ gateway: { metrics: 'off' }, org: { credits: 1_000_000n } });

  it('serves no /metrics and the paid call works as before', async () => {
    expect((await suite.gateway.app.request('/metrics')).status).toBe(404);
    const answer = expectResult(await call(suite.gateway, send('getAgentProfile', { agentId: 1 }), suite.key));
    expect(answer.task.status.state).toBe('TASK_STATE_COMPLETED');
    expect(await ledgerCharged(suite.gateway)).toBe(1_000n);
  });
});
