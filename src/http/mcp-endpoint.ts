import { randomUUID } from 'node:crypto';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import type { KeyCache } from '../auth/key-cache.js';
import { DATABASE_RETRY_AFTER_S, isDatabaseUnavailable, warnDatabaseUnavailable } from '../db/unavailable.js';
import type { Observer } from '../domain/observer.js';
import type { RateLimiter } from '../limits/rate-limiter.js';
import type { McpCancellations } from '../mcp/cancellations.js';
import { readIncoming } from '../mcp/incoming.js';
import { rateLimitedResult } from '../mcp/rate-limited.js';
import { mcpServer } from '../mcp/server.js';
import { RpcCode, RpcError, rpcErrors } from '../rpc/errors.js';
import { type RefuseCall, requireApiKey } from './api-key-auth.js';
import { baseUrlOf } from './base-url.js';
import type { AppEnv } from './env.js';
import { type PaidCallDeps, paidCallContext, requestObserver } from './paid-call-context.js';
import { rateChecksOf } from './paid-call-rate-limit.js';
import { readBody } from './read-body.js';

/** As for A2A: a tool call's arguments are small JSON. */
export const MCP_MAX_BODY_BYTES = 100 * 1024;

/** MCP's rule for a session id: 1 to 128 visible ASCII characters (we accept what we issue and nothing longer). */
const SESSION_ID = /^[\x21-\x7e]{1,128}$/;

/** A JSON-RPC error with no id, as MCP's Streamable HTTP answers a request refused before any message is read. */
function jsonRpcError(c: Context<AppEnv>, status: 400 | 401 | 403 | 405 | 413 | 429 | 503, error: RpcError) {
  return c.json({ jsonrpc: '2.0', id: null, error: error.toJSON() }, status);
}

const refuseMcp: RefuseCall = (c, status, error) => jsonRpcError(c, status, error);

const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * The browser origins /mcp serves: the gateway's own, which is PUBLIC_URL's when it is set and a
 * loopback page's when it is not (never one read from the request's Host, which a rebinding page
 * controls), and MCP_ALLOWED_ORIGINS.
 */
function originPolicy(publicUrl: string | undefined, allowed: readonly string[]): (origin: string) => boolean {
  const own = publicUrl ? new URL(publicUrl).origin : undefined;
  return (origin) => {
    if (allowed.includes(origin)) return true;
    if (own !== undefined) return origin === own;
    return URL.canParse(origin) && LOOPBACK_HOSTS.has(new URL(origin).hostname);
  };
}

/**
 * MCP requires an Origin to be checked against DNS rebinding: a request that carries one is served
 * only from an origin the policy allows (403 otherwise). Clients that are not browsers send none.
 */
function originAllowed(allows: (origin: string) => boolean): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const origin = c.req.header('origin');
    if (origin === undefined || allows(origin)) return next();
    return jsonRpcError(
      c,
      403,
      new RpcError(RpcCode.Unauthorized, 'Forbidden: this origin may not call the MCP endpoint', { reason: 'origin_not_allowed' }),
    );
  };
}

function bodyWithinLimit(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const body = await readBody(c, MCP_MAX_BODY_BYTES);
    if (!body.ok) {
      return jsonRpcError(
        c,
        413,
        new RpcError(RpcCode.InvalidRequest, 'Request body exceeds 100 KB', { reason: 'body_too_large', limitBytes: MCP_MAX_BODY_BYTES }),
      );
    }
    c.set('body', body.text);
    await next();
  };
}

/**
 * POST /mcp: MCP Streamable HTTP, stateless (docs/adr/0022). Each request gets its own SDK server
 * and transport, so any instance answers any request. The API key is checked first, as at /a2a.
 * An initialize answer carries an Mcp-Session-Id that no instance keeps: the client sends it back,
 * and it only tells one client's request ids from another's when a cancellation names one.
 */
export function mcpEndpoint(
  deps: PaidCallDeps & {
    keys: KeyCache;
    rateLimiter: RateLimiter;
    observe: Observer;
    cancellations: McpCancellations;
    publicUrl: string | undefined;
    allowedOrigins: readonly string[];
    /** x402 per-call payments are taken: the agent card resource declares the a2a-x402 extension */
    x402: boolean;
  },
) {
  const notPosted = (c: Context<AppEnv>) => {
    c.header('Allow', 'POST');
    return jsonRpcError(
      c,
      405,
      new RpcError(
        RpcCode.InvalidRequest,
        'Method not allowed: this stateless MCP server takes POST only (no standalone stream, no session to end)',
      ),
    );
  };
  const allows = originPolicy(deps.publicUrl, deps.allowedOrigins);
  const routes = new Hono<AppEnv>();
  // A browser page of an allowed origin may call (a preflight, then the POST); others get no CORS headers and a 403.
  routes.use(
    cors({
      origin: (origin) => (allows(origin) ? origin : null),
      allowMethods: ['POST'],
      allowHeaders: ['authorization', 'content-type', 'accept', 'mcp-protocol-version', 'mcp-session-id', 'last-event-id'],
      exposeHeaders: ['mcp-session-id'],
      maxAge: 600,
    }),
  );
  routes.use(originAllowed(allows));
  routes.get('/', notPosted);
  routes.delete('/', notPosted);
  return routes.post('/', bodyWithinLimit(), requireApiKey(deps.keys, deps.clock, refuseMcp), async (c) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(c.get('body'));
    } catch {
      return jsonRpcError(c, 400, new RpcError(RpcCode.ParseError, 'Parse error: the body is not JSON'));
    }
    const incoming = readIncoming(parsed);
    if (incoming.kind === 'refused') return jsonRpcError(c, 400, incoming.error);
    if (incoming.kind === 'ignored') return c.body(null, 202);
    const sent = c.req.header('mcp-session-id');
    if (sent !== undefined && !SESSION_ID.test(sent)) {
      return jsonRpcError(c, 400, new RpcError(RpcCode.InvalidRequest, 'Mcp-Session-Id is 1 to 128 visible ASCII characters'));
    }
    const sessionId = incoming.method === 'initialize' ? randomUUID() : sent;
    const principal = c.get('principal');
    const observe = requestObserver(c, deps.observe, deps.keys);
    // A call that asked for progress is answered as an event stream (notifications precede its answer,
    // a cancellation ends it unanswered); everything else as one JSON body, which costs less.
    const streamed = incoming.asksForProgress;
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: !streamed });
    // The SDK answers every request whose handler returns; MCP asks that a canceled one not be.
    const unanswered = new Set<string | number>();
    const send = transport.send.bind(transport);
    transport.send = (message, options) => {
      const answers = 'id' in message && !('method' in message) ? message.id : undefined;
      return answers !== undefined && unanswered.has(answers) ? Promise.resolve() : send(message, options);
    };
    const server = mcpServer({
      ctx: paidCallContext(c, deps, observe),
      sessionId,
      baseUrl: baseUrlOf(deps.publicUrl, c.req.url),
      x402: deps.x402,
      requestId: c.get('requestId'),
      cancellations: deps.cancellations,
      limitCall: async () => {
        const checks = rateChecksOf(principal);
        if (checks.length === 0) return undefined;
        const decision = await deps.rateLimiter.takeAll(checks);
        if (decision.allowed) return undefined;
        observe.refused('rate_limited', 1);
        return rateLimitedResult(decision);
      },
      endUnanswered: (requestId) => {
        // a JSON body cannot be withheld: the HTTP request would stay open
        if (!streamed) return false;
        unanswered.add(requestId);
        transport.closeSSEStream(requestId);
        return true;
      },
    });
    // what the SDK reports here is the client's doing (a malformed message, an unknown id): worth a trace, not an alert
    server.onerror = (error) => c.get('log').debug({ error: error.message.slice(0, 200) }, 'mcp protocol error');
    await server.connect(transport);
    let response: Response;
    try {
      response = await transport.handleRequest(c.req.raw, { parsedBody: incoming.message });
    } catch (error) {
      if (isDatabaseUnavailable(error)) {
        warnDatabaseUnavailable(c.get('log'), error);
        c.header('Retry-After', String(DATABASE_RETRY_AFTER_S));
        return jsonRpcError(c, 503, rpcErrors.databaseUnavailable(DATABASE_RETRY_AFTER_S));
      }
      c.get('log').error({ err: error }, 'mcp request failed');
      return jsonRpcError(c, 503, rpcErrors.internal(c.get('requestId')));
    }
    if (sessionId !== undefined && response.ok) response.headers.set('mcp-session-id', sessionId);
    return response;
  });
}
