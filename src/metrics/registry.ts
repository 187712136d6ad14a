import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { PoolUse } from '../db/client.js';
import type { Observer } from '../domain/observer.js';

/**
 * The gateway's Prometheus metrics (issue 17), one registry per app so that tests running many
 * apps in one process never mix their counts. Labels never hold an organization, key, agent or
 * task id: a route is its pattern (`/v1/keys/:id`), a tool its name, a refusal its reason.
 */
export interface GatewayMetrics extends Observer {
  readonly registry: Registry;
  /** one HTTP request answered: its route pattern, status and duration */
  httpRequest(route: string, status: number, seconds: number): void;
}

/**
 * What the gauges read when Prometheus scrapes; a gauge whose source is left out is not exported.
 */
export interface MetricSources {
  /** this process's connection pool */
  pool?: () => PoolUse;
  /** webhook deliveries waiting, over every instance */
  pushBacklog?: () => Promise<number>;
  /** blocks between the chain head and the last indexed block (undefined before the indexer's first look); left out when no chain is indexed */
  indexerLagBlocks?: () => Promise<number | undefined>;
  /** whether the rate limits' Redis answers; left out when rate limits are counted in memory */
  redisUp?: () => Promise<boolean>;
}

/** Latency buckets in seconds, from a cached read to a slow upstream tool. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * A gauge read at each scrape by `read`, registered only when there is something to read (no Redis
 * configured, no chain indexed: no such gauge). A reading that fails or has no value yet is NaN
 * (unknown), never a failed scrape nor a stale value.
 */
function readAtScrape(registry: Registry, name: string, help: string, read: (() => Promise<number | undefined>) | undefined): void {
  if (read === undefined) return;
  new Gauge({
    name,
    help,
    registers: [registry],
    async collect() {
      this.set((await read().catch(() => undefined)) ?? Number.NaN);
    },
  });
}

/**
 * `processMetrics`: the default Node.js process metrics too (CPU, memory, event loop), as a served
 * gateway exports them; `sources`: what the gauges read at a scrape.
 */
export function createGatewayMetrics(options: { processMetrics?: boolean; sources?: MetricSources } = {}): GatewayMetrics {
  const registry = new Registry();
  const sources = options.sources ?? {};
  if (options.processMetrics) collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'paygate_http_requests_total',
    help: 'HTTP requests answered, by route pattern and status',
    labelNames: ['route', 'status'] as const,
    registers: [registry],
  });
  const requestDurations = new Histogram({
    name: 'paygate_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by route pattern',
    labelNames: ['route'] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  const toolCalls = new Counter({
    name: 'paygate_tool_calls_total',
    help: 'Paid calls ended, by tool, tier and outcome (completed, failed, refused, canceled); counted once, by the instance that settled them',
    labelNames: ['tool', 'tier', 'outcome'] as const,
    registers: [registry],
  });
  const charged = new Counter({
    name: 'paygate_charged_micro_usdc_total',
    help: 'Micro-USDC charged by the ledger rows this process wrote, by tool (1 USDC = 1,000,000)',
    labelNames: ['tool'] as const,
    registers: [registry],
  });
  const toolDurations = new Histogram({
    name: 'paygate_tool_duration_seconds',
    help: 'How long a paid call’s tool ran, completed or failed, by tool',
    labelNames: ['tool'] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  const refusals = new Counter({
    name: 'paygate_refusals_total',
    help: 'Calls refused before they ran, by reason (insufficient_credits, no_credit_account, spend_cap_exceeded, tool_not_allowed, rate_limited)',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const toolsRunning = new Gauge({
    name: 'paygate_tasks_working',
    help: 'Paid calls whose tool is running in this process now',
    registers: [registry],
  });
  const pushDeliveries = new Counter({
    name: 'paygate_push_deliveries_total',
    help: 'Webhook deliveries of push notifications, by outcome (delivered, failed and retried later, gave_up after the last attempt)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const toppedUp = new Counter({
    name: 'paygate_topups_credited_micro_usdc_total',
    help: 'Micro-USDC of on-chain top-ups this process credited to organizations',
    registers: [registry],
  });
  const x402Payments = new Counter({
    name: 'paygate_x402_payments_total',
    help: 'x402 payments sent for calls without an API key, by outcome (settled, refused before the tool ran, released as the tool failed, unsettled as settlement failed)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const x402Settled = new Counter({
    name: 'paygate_x402_settled_micro_usdc_total',
    help: 'Micro-USDC of x402 payments this process settled to the treasury and booked',
    registers: [registry],
  });
  readAtScrape(
    registry,
    'paygate_push_backlog',
    'Webhook deliveries waiting (a task changed since its webhook’s last delivery), over every instance',
    sources.pushBacklog,
  );
  readAtScrape(
    registry,
    'paygate_indexer_lag_blocks',
    'Blocks between the chain head and the last block the ERC-8004 indexer read',
    sources.indexerLagBlocks,
  );
  const pool = sources.pool;
  readAtScrape(registry, 'paygate_db_pool_size', 'Database connections this process’s pool may open', pool && (async () => pool().size));
  readAtScrape(
    registry,
    'paygate_db_pool_in_use',
    'Database connections this process uses now (statements, transactions, held advisory locks)',
    pool && (async () => Math.min(pool().busy, pool().size)),
  );
  readAtScrape(
    registry,
    'paygate_db_pool_waiting',
    'Statements of this process waiting for a database connection (beyond the pool’s size)',
    pool && (async () => Math.max(0, pool().busy - pool().size)),
  );
  const redisUp = sources.redisUp;
  readAtScrape(
    registry,
    'paygate_redis_up',
    'Whether the Redis that counts rate limits answers (1) or not (0; rate limits then let calls through)',
    redisUp && (async () => Number(await redisUp())),
  );

  return {
    registry,
    httpRequest(route, status, seconds) {
      requests.inc({ route, status: String(status) });
      requestDurations.observe({ route }, seconds);
    },
    toolCallEnded({ tool, tier, outcome, toolSeconds }) {
      toolCalls.inc({ tool, tier: String(tier), outcome });
      if (toolSeconds !== undefined) toolDurations.observe({ tool }, toolSeconds);
    },
    // A float64 counts whole micro-USDC exactly up to 2^53, about nine billion USDC per process.
    charged: (tool, microUsdc) => charged.inc({ tool }, Number(microUsdc)),
    refused: (reason, calls = 1) => refusals.inc({ reason }, calls),
    toolRunning: (change) => (change > 0 ? toolsRunning.inc() : toolsRunning.dec()),
    pushDelivered: (outcome) => pushDeliveries.inc({ outcome }),
    toppedUp: (microUsdc) => toppedUp.inc(Number(microUsdc)),
    x402Payment: (outcome, microUsdc) => {
      x402Payments.inc({ outcome });
      if (outcome === 'settled' && microUsdc !== undefined) x402Settled.inc(Number(microUsdc));
    },
  };
}
