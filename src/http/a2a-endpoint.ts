import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { a2aMethods, type A2AContext } from '../a2a/methods.js';
import { requireApiKey } from '../auth/middleware.js';
import type { Database } from '../db/client.js';
import { handleRpcBody, type Dispatcher } from '../rpc/dispatch.js';
import { RpcCode, rpcErrors } from '../rpc/errors.js';
import type { AppEnv } from './env.js';

export const MAX_BODY_BYTES = 100 * 1024;

const dispatcher: Dispatcher<A2AContext> = {
  methods: a2aMethods,
  onInternalError: (error, request, ctx) => {
    ctx.log.error({ err: error, method: request.method }, 'internal error');
    return rpcErrors.internal(String(ctx.log.bindings().reqId ?? ''));
  },
};

/** POST /a2a (and / for clients that post to the card's URL): JSON-RPC 2.0, both A2A generations. */
export function a2aEndpoint(deps: { db: Database; toolTimeoutMs: number; taskDeadlineSlackMs: number }) {
  const routes = new Hono<AppEnv>();
  const limit = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: (c) =>
      c.json(
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
      ),
  });
  const handler = routes.post('/', limit, requireApiKey(deps.db), async (c) => {
    const body = await c.req.text();
    const answer = await handleRpcBody(body, dispatcher, {
      db: deps.db,
      orgId: c.get('principal').orgId,
      log: c.get('log'),
      toolTimeoutMs: deps.toolTimeoutMs,
      taskDeadlineSlackMs: deps.taskDeadlineSlackMs,
      a2aVersion: c.req.header('a2a-version'),
    });
    return answer === null ? c.body(null, 204) : c.json(answer);
  });
  return handler;
}
