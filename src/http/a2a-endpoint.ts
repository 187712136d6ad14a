import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { a2aMethods, type A2AContext } from '../a2a/methods.js';
import { requireApiKey } from '../auth/middleware.js';
import type { Database } from '../db/client.js';
import { handleRpcBody, type Dispatcher } from '../rpc/dispatch.js';
import { RpcCode, rpcErrors } from '../rpc/errors.js';
import { createChargeCombiner } from '../tasks/charge-combiner.js';
import type { AppEnv } from './env.js';
import { readBody } from './read-body.js';
import type { ToolRegistry } from '../tools/registry.js';
import type { Leases } from '../tasks/leases.js';

export const MAX_BODY_BYTES = 100 * 1024;

const dispatcher: Dispatcher<A2AContext> = {
  methods: a2aMethods,
  onInternalError: (error, request, ctx) => {
    ctx.log.error({ err: error, method: request.method }, 'internal error');
    return rpcErrors.internal(String(ctx.log.bindings().reqId ?? ''));
  },
};

function bodyTooLarge(c: Context<AppEnv>) {
  return c.json(
    {
      jsonrpc: '2.0',
      id: null,
      error: {
        code: RpcCode.InvalidRequest,
        message: 'Request body exceeds 100 KB',
        data: { reason: 'body_too_large', limitBytes: MAX_BODY_BYTES },
      },
    },
    413,
  );
}

/** Reads the body first, so an oversized one is 413 whoever sends it. */
const bodyWithinLimit: MiddlewareHandler<AppEnv> = async (c, next) => {
  const body = await readBody(c, MAX_BODY_BYTES);
  if (!body.ok) return bodyTooLarge(c);
  c.set('body', body.text);
  await next();
};

/** POST /a2a (and / for clients that post to the card's URL): JSON-RPC 2.0, both A2A generations. */
export function a2aEndpoint(deps: {
  db: Database;
  toolTimeoutMs: number;
  taskDeadlineSlackMs: number;
  settlement: A2AContext['settlement'];
  tools: ToolRegistry;
  leases: Leases;
}) {
  const charges = createChargeCombiner(deps.db);
  const routes = new Hono<AppEnv>();
  const handler = routes.post('/', bodyWithinLimit, requireApiKey(deps.db), async (c) => {
    const principal = c.get('principal');
    const answer = await handleRpcBody(c.get('body'), dispatcher, {
      db: deps.db,
      orgId: principal.orgId,
      tools: deps.tools,
      leases: deps.leases,
      charges,
      availableAtAuth: principal.availableMicroUsdc,
      settlement: deps.settlement,
      log: c.get('log'),
      toolTimeoutMs: deps.toolTimeoutMs,
      taskDeadlineSlackMs: deps.taskDeadlineSlackMs,
      a2aVersion: c.req.header('a2a-version'),
    });
    return answer === null ? c.body(null, 204) : c.json(answer);
  });
  return handler;
}
