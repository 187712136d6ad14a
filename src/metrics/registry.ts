import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/**
 * The gateway's Prometheus metrics (issue 17), one registry per app so that tests running many
 * apps in one process never mix their counts. Labels never hold an organization, key, agent or
 * task id: a route is its pattern (`/v1/keys/:id`), never the path it was called with.
 */
export interface GatewayMetrics {
  readonly registry: Registry;
  /** one HTTP request answered: its route pattern, status and duration */
  httpRequest(route: string, status: number, seconds: number): void;
}

/** Latency buckets in seconds, from a cached read to a slow upstream tool. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** `processMetrics`: the default Node.js process metrics too (CPU, memory, event loop), as a served gateway exports them. */
export function createGatewayMetrics(options: { processMetrics?: boolean } = {}): GatewayMetrics {
  const registry = new Registry();
  if (options.processMetrics) collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'paygate_http_requests_total',
    help: 'HTTP requests answered, by route pattern and status',
    labelNames: ['route', 'status'] as const,
    registers: [registry],
  });
  const durations = new Histogram({
    name: 'paygate_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by route pattern',
    labelNames: ['route'] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  return {
    registry,
    httpRequest(route, status, seconds) {
      requests.inc({ route, status: String(status) });
      durations.observe({ route }, seconds);
    },
  };
}
