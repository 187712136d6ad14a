import { Hono } from 'hono';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { Database } from './db/client.js';
import { a2aEndpoint } from './http/a2a-endpoint.js';
import type { AppEnv } from './http/env.js';
import type { InFlightRequests } from './http/in-flight.js';
import { publicRoutes } from './http/public-routes.js';
import { requestContext } from './http/request-context.js';

export interface AppDeps {
  db: Database;
  log: Logger;
  config: Pick<Config, 'toolTimeoutMs' | 'taskDeadlineSlackMs' | 'publicUrl' | 'settlement'>;
  /** when given, counts running handlers so shutdown can wait for them */
  inFlight?: InFlightRequests;
}

/** The whole HTTP surface; tests call `app.request()` on it, main.ts serves it. */
export function createApp(deps: AppDeps) {
  const a2a = a2aEndpoint({
    db: deps.db,
    toolTimeoutMs: deps.config.toolTimeoutMs,
    taskDeadlineSlackMs: deps.config.taskDeadlineSlackMs,
    settlement: deps.config.settlement,
  });
  const app = new Hono<AppEnv>();
  if (deps.inFlight) app.use(deps.inFlight.middleware);
  app
    .use(requestContext(deps.log))
    .route('/', publicRoutes({ db: deps.db, publicUrl: deps.config.publicUrl }))
    .route('/a2a', a2a)
    .route('/', a2a);

  app.notFound((c) => c.json({ error: { code: 'not_found', message: `No route for ${c.req.method} ${c.req.path}` } }, 404));
  app.onError((error, c) => {
    const requestId = c.get('requestId');
    (c.get('log') ?? deps.log).error({ err: error }, 'unhandled error');
    return c.json({ error: { code: 'internal_error', message: 'Internal error', requestId } }, 500);
  });
  return app;
}

export type App = ReturnType<typeof createApp>;
