import { OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import type { StatusCode } from 'hono/utils/http-status';
import type { Logger } from 'pino';
import { openKeyCache } from './auth/key-cache.js';
import type { WalletAuth } from './auth/wallet-auth.js';
import { ChainUnavailableError } from './chain/client.js';
import type { Config } from './config.js';
import type { Database } from './db/client.js';
import { DATABASE_RETRY_AFTER_S, isDatabaseUnavailable, warnDatabaseUnavailable } from './db/unavailable.js';
import { isDomainError } from './domain/errors.js';
import { UNOBSERVED } from './domain/observer.js';
import { a2aEndpoint } from './http/a2a-endpoint.js';
import { ApiError, apiErrorOf, apiErrorResponse } from './http/api-errors.js';
import { billingRoutes } from './http/billing/routes.js';
import { toolCallRoutes } from './http/calls/call-tool.js';
import { CLIENT_CLOSED_REQUEST, ClientAbortedError } from './http/client-aborted.js';
import type { AppEnv } from './http/env.js';
import type { InFlightRequests } from './http/in-flight.js';
import { mcpEndpoint } from './http/mcp-endpoint.js';
import { countRequests, metricsRoute } from './http/metrics.js';
import { openApiDocument } from './http/openapi.js';
import { operatorRoutes } from './http/operator/routes.js';
import { organizationRoutes } from './http/organization/routes.js';
import type { TopUpReader } from './http/organization/topups.js';
import { pageRoutes } from './http/pages/routes.js';
import { publicRoutes } from './http/public/routes.js';
import { requestContext } from './http/request-context.js';
import { signInRoutes } from './http/sign-in/routes.js';
import { traceRequests } from './http/trace-requests.js';
import { createMemoryRateLimiter } from './limits/memory-store.js';
import type { RateLimiter } from './limits/rate-limiter.js';
import { openMcpCancellations } from './mcp/cancellations.js';
import { createGatewayMetrics, type GatewayMetrics } from './metrics/registry.js';
import { gatewayMetricSources } from './metrics/sources.js';
import { createChargeCombiner } from './tasks/charge-combiner.js';
import type { Leases } from './tasks/leases.js';
import type { ToolRegistry } from './tools/registry.js';
import { tracingOn } from './tracing/spans.js';
import { createFacilitator } from './x402/facilitator.js';
import { X402Payments } from './x402/payments.js';

export interface AppDeps {
  db: Database;
  log: Logger;
  config: Pick<Config, 'toolTimeoutMs' | 'taskDeadlineSlackMs' | 'publicUrl' | 'settlement'> & {
    catalog: Pick<Config['catalog'], 'platformFeeBps'>;
  } & Partial<Pick<Config, 'adminToken' | 'secretsKey' | 'mcp' | 'x402'>>;
  /** the chain the ERC-8004 tables are indexed from, whose freshness /readyz and /v1/indexer report */
  indexedChainId?: number;
  walletAuth: WalletAuth;
  /** the tool table (getReputationReport is enabled only with an LLM) */
  tools: ToolRegistry;
  /** this instance's hold on the held tasks it runs */
  leases: Leases;
  /** the chain top-ups are verified on; undefined when top-ups are not configured */
  topUpReader?: TopUpReader;
  /** when given, counts running handlers so shutdown can wait for them */
  inFlight?: InFlightRequests;
  /** the Prometheus metrics this app counts into (main.ts adds the process metrics); its own when not given; `off`: none (METRICS=off) */
  metrics?: GatewayMetrics | 'off';
  /** how GET /metrics is served: the bearer token it needs, and whether on this app's port (false: main.ts serves it on its own) */
  metricsExposition?: { token?: string; onThisPort: boolean };
  /** the time spend caps count in (the UTC day and month of a charge); tests move it across a period's end */
  clock?: () => Date;
  /** where rate limits are counted (main.ts opens it from REDIS_URL); this app's own memory when not given */
  rateLimiter?: RateLimiter;
}

/** REST bodies are small JSON objects (a sign-in message, a key's name). */
const REST_BODY_LIMIT = 16 * 1024;

/** The whole HTTP surface; tests call `app.request()` on it, main.ts serves it. */
export function createApp(deps: AppDeps) {
  const clock = deps.clock ?? (() => new Date());
  const rateLimiter = deps.rateLimiter ?? createMemoryRateLimiter();
  const metrics =
    deps.metrics ??
    createGatewayMetrics({ sources: gatewayMetricSources({ db: deps.db, indexedChainId: deps.indexedChainId, rateLimiter }) });
  const observe = metrics === 'off' ? UNOBSERVED : metrics;
  const exposition = deps.metricsExposition ?? { onThisPort: true };
  const paidCalls = {
    db: deps.db,
    toolTimeoutMs: deps.config.toolTimeoutMs,
    taskDeadlineSlackMs: deps.config.taskDeadlineSlackMs,
    settlement: deps.config.settlement,
    platformFeeBps: deps.config.catalog.platformFeeBps,
    tools: deps.tools,
    leases: deps.leases,
    clock,
    charges: createChargeCombiner(deps.db, clock),
    keys: openKeyCache(deps.db),
    rateLimiter,
    observe,
  };
  // Per-call payments (docs/adr/0023), when a treasury and a way to settle are configured.
  const x402 = deps.config.x402 ? new X402Payments(deps.config.x402, createFacilitator(deps.config.x402)) : undefined;
  const a2a = a2aEndpoint({ ...paidCalls, x402, publicUrl: deps.config.publicUrl });
  const mcp = mcpEndpoint({
    ...paidCalls,
    cancellations: openMcpCancellations(deps.db),
    publicUrl: deps.config.publicUrl,
    allowedOrigins: deps.config.mcp?.allowedOrigins ?? [],
    x402: x402 !== undefined,
  });
  // An OpenAPIHono: the REST routers mounted on it bring their definitions, which /openapi.json is generated from.
  const app = new OpenAPIHono<AppEnv>();
  // First, so the span covers the whole request and every log line of it carries its traceId.
  if (tracingOn()) app.use(traceRequests());
  if (deps.inFlight) app.use(deps.inFlight.middleware);
  if (metrics !== 'off') {
    app.use(countRequests(metrics));
    if (exposition.onThisPort) app.route('/', metricsRoute(metrics, exposition.token));
  }
  app
    .use(requestContext(deps.log))
    .route('/', pageRoutes({ publicUrl: deps.config.publicUrl, openApiDocument: openApiDocument(app) }))
    .route(
      '/',
      publicRoutes({
        db: deps.db,
        publicUrl: deps.config.publicUrl,
        tools: deps.tools,
        indexedChainId: deps.indexedChainId,
        topUpChain: deps.topUpReader?.chain,
        rateLimiter,
        catalogCallable: deps.config.secretsKey !== undefined,
        x402: x402 !== undefined,
      }),
    )
    .use(
      '/v1/*',
      bodyLimit({
        maxSize: REST_BODY_LIMIT,
        onError: (c) => apiErrorResponse(c, new ApiError('payload_too_large', `the body is over ${REST_BODY_LIMIT} bytes`)),
      }),
    )
    .route('/', signInRoutes({ db: deps.db, rateLimiter, observe, ...deps.walletAuth }))
    .route(
      '/',
      organizationRoutes({
        db: deps.db,
        sessions: deps.walletAuth.sessions,
        topUpReader: deps.topUpReader,
        tools: deps.tools,
        clock,
        observe,
      }),
    )
    .route('/', billingRoutes({ db: deps.db, sessions: deps.walletAuth.sessions, tools: deps.tools }))
    .route('/', toolCallRoutes({ ...paidCalls, x402, publicUrl: deps.config.publicUrl }));
  const { adminToken } = deps.config;
  if (adminToken) app.route('/', operatorRoutes({ db: deps.db, adminToken, secretsKey: deps.config.secretsKey, tools: deps.tools }));
  app
    .route('/mcp', mcp)
    .route('/a2a', a2a)
    // clients that join the card's URL with a path may post to /a2a/
    .route('/a2a/', a2a)
    .route('/', a2a);

  app.notFound((c) => apiErrorResponse(c, new ApiError('not_found', `No route for ${c.req.method} ${c.req.path}`, 'no_route')));
  app.onError((error, c) => {
    if (error instanceof ApiError) return apiErrorResponse(c, error);
    if (isDomainError(error)) return apiErrorResponse(c, apiErrorOf(error));
    if (error instanceof ClientAbortedError) {
      // Nobody is there to read an answer; the request line says 499 and nothing else is logged.
      return c.body(null, CLIENT_CLOSED_REQUEST as StatusCode);
    }
    if (error instanceof ChainUnavailableError) {
      (c.get('log') ?? deps.log).warn({ err: error }, 'chain RPC unavailable');
      return apiErrorResponse(c, new ApiError('unavailable', 'the chain RPC is unavailable; try again shortly', 'chain_unavailable'));
    }
    if (isDatabaseUnavailable(error)) {
      warnDatabaseUnavailable(c.get('log') ?? deps.log, error);
      c.header('Retry-After', String(DATABASE_RETRY_AFTER_S));
      return apiErrorResponse(c, new ApiError('unavailable', 'the database cannot be reached; try again shortly', 'database_unavailable'));
    }
    const requestId = c.get('requestId');
    (c.get('log') ?? deps.log).error({ err: error }, 'unhandled error');
    return c.json({ error: { code: 'internal_error', message: 'Internal error', requestId } }, 500);
  });
  return app;
}

export type App = ReturnType<typeof createApp>;
