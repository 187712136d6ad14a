import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { streamSSE } from 'hono/streaming';
import { errorGeneration, renderA2AError, rpcErrorOf } from '../a2a/errors.js';
import { type A2AContext, a2aMethods, streamingMethods } from '../a2a/methods.js';
import type { KeyCache } from '../auth/key-cache.js';
import { isDomainError } from '../domain/errors.js';
import { stringifyJson } from '../domain/json-text.js';
import type { Observer } from '../domain/observer.js';
import type { RateLimiter } from '../limits/rate-limiter.js';
import { type Dispatcher, handleRpcBody } from '../rpc/dispatch.js';
import { idOf } from '../rpc/envelope.js';
import { RpcCode, RpcError, rpcErrors } from '../rpc/errors.js';
import { isStreamedAnswer, type StreamedAnswer } from '../rpc/stream.js';
import { type RefuseCall, requireApiKey } from './api-key-auth.js';
import type { AppEnv } from './env.js';
import { type PaidCallDeps, paidCallContext, requestObserver } from './paid-call-context.js';
import { limitPaidCalls } from './paid-call-rate-limit.js';
import { readBody } from './read-body.js';

export const MAX_BODY_BYTES = 100 * 1024;

/** Every error leaves in the shape of the caller's generation, chosen from its A2A-Version header. */
const renderFor = (c: Context<AppEnv>, error: RpcError) => renderA2AError(error, errorGeneration(c.req.header('a2a-version')));

const dispatcher: Dispatcher<A2AContext> = {
  methods: a2aMethods,
  streamingMethods,
  renderError: (error, ctx) => renderA2AError(error, errorGeneration(ctx.a2aVersion)),
  answerFor: (error, request, ctx) => {
    if (isDomainError(error)) return rpcErrorOf(error);
    ctx.log.error({ err: error, method: request.method }, 'internal error');
    return rpcErrors.internal(String(ctx.log.bindings().reqId ?? ''));
  },
};

const A2A_JSON = 'application/a2a+json';

/** A2A 1.0.1 prefers application/a2a+json: a caller that sends it gets it back; everyone else application/json. */
function sendJson(c: Context<AppEnv>, body: unknown, status: 200 | 401 | 413 | 429 | 503 = 200) {
  const sent = c.req.header('content-type')?.split(';')[0]?.trim().toLowerCase();
  return c.body(stringifyJson(body), status, { 'content-type': sent === A2A_JSON ? A2A_JSON : 'application/json' });
}

/** A call refused before it runs: the request's id echoed when the body holds one request. */
const refuseCall: RefuseCall = (c, status, error) =>
  sendJson(c, { jsonrpc: '2.0', id: idOf(c.get('body')), error: renderFor(c, error) }, status);

/** Reads the body first, so an oversized one is 413 whoever sends it. */
const bodyWithinLimit: MiddlewareHandler<AppEnv> = async (c, next) => {
  const body = await readBody(c, MAX_BODY_BYTES);
  if (!body.ok) {
    const tooLarge = new RpcError(RpcCode.InvalidRequest, 'Request body exceeds 100 KB', {
      reason: 'body_too_large',
      limitBytes: MAX_BODY_BYTES,
    });
    return sendJson(c, { jsonrpc: '2.0', id: null, error: renderFor(c, tooLarge) }, 413);
  }
  c.set('body', body.text);
  await next();
};

/**
 * A streamed answer as Server-Sent Events, one JSON-RPC response per event. A failure, before the
 * first event (a refused call) or after, is sent as a last event with the error (a cause that is
 * neither an RpcError nor a domain refusal is logged, never sent); a client that hangs up stops
 * the stream, not the task.
 */
function sendEvents(c: Context<AppEnv>, answer: StreamedAnswer) {
  return streamSSE(c, async (stream) => {
    const events = answer.events[Symbol.asyncIterator]();
    stream.onAbort(() => void events.return?.());
    try {
      for (let next = await events.next(); !next.done && !stream.aborted; next = await events.next()) {
        await stream.writeSSE({ data: stringifyJson({ jsonrpc: '2.0', id: answer.id, result: next.value }) });
      }
    } catch (error) {
      const refusal = error instanceof RpcError ? error : isDomainError(error) ? rpcErrorOf(error) : undefined;
      if (!refusal) c.get('log').error({ err: error }, 'stream failed');
      const sent = refusal ?? rpcErrors.internal(c.get('requestId'));
      await stream.writeSSE({ data: JSON.stringify({ jsonrpc: '2.0', id: answer.id, error: renderFor(c, sent) }) });
    }
  });
}

/** POST /a2a (and / for clients that post to the card's URL): JSON-RPC 2.0, both A2A generations. */
export function a2aEndpoint(deps: PaidCallDeps & { keys: KeyCache; rateLimiter: RateLimiter; observe: Observer }) {
  const { keys } = deps;
  const routes = new Hono<AppEnv>();
  const handler = routes.post(
    '/',
    bodyWithinLimit,
    requireApiKey(keys, deps.clock, refuseCall),
    limitPaidCalls(deps.rateLimiter, refuseCall, deps.observe),
    async (c) => {
      const answer = await handleRpcBody(c.get('body'), dispatcher, {
        ...paidCallContext(c, deps, requestObserver(c, deps.observe, keys)),
        a2aVersion: c.req.header('a2a-version'),
      });
      if (isStreamedAnswer(answer)) return sendEvents(c, answer);
      return sendJson(c, answer);
    },
  );
  return handler;
}
