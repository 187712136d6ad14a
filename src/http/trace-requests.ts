import type { MiddlewareHandler } from 'hono';
import { inServerSpan } from '../tracing/spans.js';
import type { AppEnv } from './env.js';
import { routeOf } from './metrics.js';

/**
 * A server span for each request, named by method and route pattern (never the path, which may
 * hold an id), whose parent is the caller's span when its `traceparent` names one. Installed only
 * when tracing is on.
 */
export function traceRequests(): MiddlewareHandler<AppEnv> {
  return (c, next) =>
    inServerSpan(c.req.method, c.req.header(), async () => {
      await next();
      const route = routeOf(c);
      return { route: route === 'unmatched' ? undefined : route, status: c.res.status, requestId: c.get('requestId') };
    });
}
