import { performance } from 'node:perf_hooks';
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import { bearerMatches } from '../auth/bearer.js';
import type { GatewayMetrics } from '../metrics/registry.js';
import type { AppEnv } from './env.js';

/**
 * The route pattern that answered (`/v1/keys/:id`), never the path itself, which may hold an id;
 * `unmatched` for a path no route serves, so a scan of random paths cannot grow the label set.
 */
export function routeOf(c: Context): string {
  const route = matchedRoutes(c)[c.req.routeIndex];
  return route && route.method !== 'ALL' ? route.path : 'unmatched';
}

/** Counts every request by route pattern and status, and times it. */
export function countRequests(metrics: GatewayMetrics): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    await next();
    metrics.httpRequest(routeOf(c), c.res.status, (performance.now() - started) / 1000);
  };
}

/** GET /metrics in the Prometheus text format; with `token`, only for `Authorization: Bearer <token>`. */
export function metricsRoute(metrics: GatewayMetrics, token: string | undefined) {
  return new Hono<AppEnv>().get('/metrics', async (c) => {
    if (token !== undefined && !bearerMatches(c.req.header('authorization'), token)) {
      c.header('WWW-Authenticate', 'Bearer realm="metrics"');
      return c.text('unauthorized: send the metrics token as Authorization: Bearer <token>\n', 401);
    }
    return c.body(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType });
  });
}
