import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';
import { CLIENT_CLOSED_REQUEST } from './client-aborted.js';
import type { AppEnv } from './env.js';

const SAFE_REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Gives each request an id (the caller's X-Request-Id when sane), a child logger, and one log line. */
export function requestContext(log: Logger): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const offered = c.req.header('x-request-id');
    const requestId = offered && SAFE_REQUEST_ID.test(offered) ? offered : randomUUID();
    const child = log.child({ reqId: requestId });
    c.set('requestId', requestId);
    c.set('log', child);
    const started = performance.now();
    // Set before the handler answers: set after, on a response already made, Hono rebuilds that
    // response as a real Fetch Response, which @hono/node-server then writes out through a web
    // stream (about a tenth of the gateway's CPU per paid call in the bench's profile).
    c.header('X-Request-Id', requestId);
    await next();
    // A request whose paid calls each left their `paid call` line (org, tool, task, state, cost, ms,
    // under this reqId) says nothing more at info: one line per paid call, not two.
    const level = (c.get('paidCallsLogged') ?? 0) > 0 ? 'debug' : 'info';
    child[level](
      {
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round(performance.now() - started),
        org: c.get('principal')?.orgId,
      },
      c.res.status === CLIENT_CLOSED_REQUEST ? 'request aborted by the client' : 'request',
    );
  };
}
