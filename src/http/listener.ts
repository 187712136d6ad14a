import type { Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import type { Logger } from 'pino';
import { ApiError, apiErrorResponse } from './api-errors.js';
import type { AppEnv } from './env.js';
import { requestContext } from './request-context.js';

/** The port cannot be listened on; its message is one line naming PORT or HOST. */
export class ListenError extends Error {}

type FetchHandler = (request: Request, env: unknown) => Response | Promise<Response>;

export interface Listener {
  server: Server;
  /** the bound port (the one the system picked for PORT=0) */
  port: number;
  /** From now on requests go to `app`; before, every request is a 503 `starting`. */
  serve(app: { fetch: FetchHandler }): void;
}

const WHY_NOT: Record<string, (where: { host: string; port: number }) => string> = {
  EADDRINUSE: ({ host, port }) =>
    `PORT ${port} on ${host} is already in use (another gateway?); stop that process or set PORT to a free port (PORT=0 picks one)`,
  EACCES: ({ host, port }) => `PORT ${port} on ${host} needs privileges this process lacks; set PORT above 1023`,
  EADDRNOTAVAIL: ({ host }) => `HOST ${host} is not an address of this machine; set HOST to one (127.0.0.1, 0.0.0.0)`,
  ENOTFOUND: ({ host }) => `HOST ${host} does not resolve; set HOST to an address of this machine`,
};

/**
 * Binds the port before anything else happens, so a port in use stops the start before the
 * database is migrated or demo data written. Until `serve` hands over the app, requests are
 * answered 503 with reason `starting`.
 */
export async function listen(options: { port: number; host: string; log: Logger }): Promise<Listener> {
  const starting = new Hono<AppEnv>().use(requestContext(options.log)).all('*', (c) => {
    c.header('Retry-After', '1');
    return apiErrorResponse(c, new ApiError('unavailable', 'the gateway is starting; try again in a moment', 'starting'));
  });
  let handler: FetchHandler = starting.fetch;
  const server = createAdaptorServer({ fetch: (request, env) => handler(request, env) }) as Server;
  await new Promise<void>((resolve, reject) => {
    const refused = (error: NodeJS.ErrnoException) => {
      const why = error.code && Object.hasOwn(WHY_NOT, error.code) ? WHY_NOT[error.code] : undefined;
      reject(why ? new ListenError(why(options)) : error);
    };
    server.once('error', refused);
    server.listen(options.port, options.host, () => {
      server.off('error', refused);
      resolve();
    });
  });
  const address = server.address();
  return {
    server,
    port: typeof address === 'object' && address ? address.port : options.port,
    serve: (app) => {
      handler = app.fetch;
    },
  };
}
