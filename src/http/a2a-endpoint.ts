import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { Logger } from 'pino';
import { errorGeneration, renderA2AError, rpcErrorOf } from '../a2a/errors.js';
import { a2aMethods, streamingMethods, type X402A2AContext, x402Methods } from '../a2a/methods.js';
import { X402_EXTENSION_URI } from '../a2a/x402-extension.js';
import type { KeyCache } from '../auth/key-cache.js';
import { DATABASE_RETRY_AFTER_S, isDatabaseUnavailable, warnDatabaseUnavailable } from '../db/unavailable.js';
import { isDomainError } from '../domain/errors.js';
import { stringifyJson } from '../domain/json-text.js';
import type { Observer } from '../domain/observer.js';
import type { RateLimiter } from '../limits/rate-limiter.js';
import { type Dispatcher, handleRpcBody, type RpcMethod } from '../rpc/dispatch.js';
import { idOf, type RpcResponse } from '../rpc/envelope.js';
import { RpcCode, RpcError, rpcErrors } from '../rpc/errors.js';
import { isStreamedAnswer, type StreamedAnswer } from '../rpc/stream.js';
import type { X402Payments } from '../x402/payments.js';
import { type RefuseCall, requireApiKey } from './api-key-auth.js';
import { baseUrlOf } from './base-url.js';
import type { AppEnv } from './env.js';
import { type PaidCallDeps, paidCallContext, requestObserver, x402CallContext } from './paid-call-context.js';
import { limitPaidCalls } from './paid-call-rate-limit.js';
import { readBody } from './read-body.js';
import { takeX402Allowance } from './x402-rate-limit.js';

export const MAX_BODY_BYTES = 100 * 1024;

/** Every error leaves in the shape of the caller's generation, chosen from its A2A-Version header. */
const renderFor = (c: Context<AppEnv>, error: RpcError) => renderA2AError(error, errorGeneration(c.req.header('a2a-version')));

/**
 * A failure that is neither an RpcError nor a domain refusal: the database unavailable is -32050
 * (warned of, once in a while), anything else -32603, logged.
 */
function unexpected(error: unknown, log: Logger, requestId: string, what: Record<string, unknown>): RpcError {
  if (isDatabaseUnavailable(error)) {
    warnDatabaseUnavailable(log, error);
    return rpcErrors.databaseUnavailable(DATABASE_RETRY_AFTER_S);
  }
  log.error({ err: error, ...what }, 'internal error');
  return rpcErrors.internal(requestId);
}

/** A dispatcher of `methods`: errors in the caller's generation, domain refusals mapped once, anything else through `unexpected`. */
function dispatcherOf<Ctx extends { readonly a2aVersion: string | undefined; readonly log: Logger }>(
  methods: Readonly<Record<string, RpcMethod<Ctx>>>,
  streaming: ReadonlySet<string>,
): Dispatcher<Ctx> {
  return {
    methods,
    streamingMethods: streaming,
    renderError: (error, ctx) => renderA2AError(error, errorGeneration(ctx.a2aVersion)),
    answerFor: (error, request, ctx) => {
      if (isDomainError(error)) return rpcErrorOf(error);
      return unexpected(error, ctx.log, String(ctx.log.bindings().reqId ?? ''), { method: request.method });
    },
  };
}

const dispatcher = dispatcherOf(a2aMethods, streamingMethods);
const x402Dispatcher = dispatcherOf(x402Methods, new Set());

/** The headers a client activates extensions with: A2A 1.0's, and 0.3's (which the a2a-x402 spec names). */
const EXTENSION_HEADERS = ['A2A-Extensions', 'X-A2A-Extensions'] as const;

/** The extensions header that activates the a2a-x402 extension, when one does (a comma-separated list of URIs). */
function x402Activation(c: Context<AppEnv>): (typeof EXTENSION_HEADERS)[number] | undefined {
  return EXTENSION_HEADERS.find((name) => (c.req.header(name) ?? '').split(',').some((uri) => uri.trim() === X402_EXTENSION_URI));
}

/** Whether the body is one request of a method a call paid with x402 is sent with (a batch never is). */
function isX402Send(body: string): boolean {
  try {
    const request: unknown = JSON.parse(body);
    return (
      typeof request === 'object' &&
      request !== null &&
      !Array.isArray(request) &&
      typeof (request as { method?: unknown }).method === 'string' &&
      Object.hasOwn(x402Methods, (request as { method: string }).method)
    );
  } catch {
    return false;
  }
}

const A2A_JSON = 'application/a2a+json';

/** A2A 1.0.1 prefers application/a2a+json: a caller that sends it gets it back; everyone else application/json. */
function sendJson(c: Context<AppEnv>, body: unknown, status: 200 | 401 | 413 | 429 | 503 = 200) {
  const sent = c.req.header('content-type')?.split(';')[0]?.trim().toLowerCase();
  return c.body(stringifyJson(body), status, { 'content-type': sent === A2A_JSON ? A2A_JSON : 'application/json' });
}

/**
 * The answer to a body: HTTP 200, except one request answered -32050 (the database unavailable),
 * which is HTTP 503 with Retry-After, so clients and proxies that retry on 503 do. A batch stays
 * 200: its other answers may have succeeded.
 */
function sendAnswer(c: Context<AppEnv>, answer: RpcResponse | RpcResponse[]) {
  if (Array.isArray(answer) || !('error' in answer) || answer.error.code !== RpcCode.Unavailable) return sendJson(c, answer);
  c.header('Retry-After', String(DATABASE_RETRY_AFTER_S));
  return sendJson(c, answer, 503);
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
      const sent =
        error instanceof RpcError
          ? error
          : isDomainError(error)
            ? rpcErrorOf(error)
            : unexpected(error, c.get('log'), c.get('requestId'), { stream: true });
      await stream.writeSSE({ data: JSON.stringify({ jsonrpc: '2.0', id: answer.id, error: renderFor(c, sent) }) });
    }
  });
}

/**
 * A send without an Authorization header, from a client that activated the a2a-x402 extension, on a
 * gateway that takes x402: answered here, paid per call (a2a/x402-flow.ts), the extension echoed in
 * the header it came in. Everything else goes on to the key check, as before.
 */
function answerPayingWithX402(
  deps: PaidCallDeps & { keys: KeyCache; rateLimiter: RateLimiter; observe: Observer; x402?: X402Payments; publicUrl?: string },
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const { x402 } = deps;
    const activated = x402 ? x402Activation(c) : undefined;
    if (!x402 || !activated || c.req.header('authorization') !== undefined || !isX402Send(c.get('body'))) return next();
    c.header(activated, X402_EXTENSION_URI);
    // an offer is a stored row, a payment costs chain reads: one client address sends so many a minute
    const decision = await takeX402Allowance(c, x402, deps.rateLimiter);
    if (decision && !decision.allowed) {
      return refuseCall(
        c,
        429,
        new RpcError(RpcCode.CreditsOrUnsupported, 'Rate limited: too many x402 requests from this address', {
          reason: 'payment_rate',
          retryAfterSeconds: decision.retryAfterSeconds,
        }),
      );
    }
    const ctx: X402A2AContext = {
      ...x402CallContext(c, deps, requestObserver(c, deps.observe, deps.keys), x402),
      resourceUrl: `${baseUrlOf(deps.publicUrl, c.req.url)}/a2a`,
      offerTtlS: x402.settings.offerTtlS,
      a2aVersion: c.req.header('a2a-version'),
    };
    const answer = await handleRpcBody(c.get('body'), x402Dispatcher, ctx);
    if (isStreamedAnswer(answer)) return sendEvents(c, answer);
    return sendAnswer(c, answer);
  };
}

/** POST /a2a (and / for clients that post to the card's URL): JSON-RPC 2.0, both A2A generations. */
export function a2aEndpoint(
  deps: PaidCallDeps & {
    keys: KeyCache;
    rateLimiter: RateLimiter;
    observe: Observer;
    /** per-call payments, when the gateway takes them: the a2a-x402 extension is offered */
    x402?: X402Payments;
    publicUrl?: string;
  },
) {
  const { keys } = deps;
  const routes = new Hono<AppEnv>();
  const handler = routes.post(
    '/',
    bodyWithinLimit,
    answerPayingWithX402(deps),
    requireApiKey(keys, deps.clock, refuseCall),
    limitPaidCalls(deps.rateLimiter, refuseCall, deps.observe),
    async (c) => {
      const answer = await handleRpcBody(c.get('body'), dispatcher, {
        ...paidCallContext(c, deps, requestObserver(c, deps.observe, keys)),
        a2aVersion: c.req.header('a2a-version'),
      });
      if (isStreamedAnswer(answer)) return sendEvents(c, answer);
      return sendAnswer(c, answer);
    },
  );
  return handler;
}
