import type { MiddlewareHandler } from 'hono';
import type { KeyHolder } from '../auth/api-keys.js';
import type { Observer } from '../domain/observer.js';
import { MAX_TAKE_WEIGHT, type RateCheck, type RateLimiter } from '../limits/rate-limiter.js';
import { RpcCode, RpcError } from '../rpc/errors.js';
import type { RefuseCall } from './api-key-auth.js';
import type { AppEnv } from './env.js';
import { rateLimitHeaders } from './rate-limit.js';

/** The key's and its organization's rate limits (issue 16), as the limiter's checks; none when neither has one. */
export function rateChecksOf(principal: KeyHolder): RateCheck[] {
  return [
    ...(principal.keyRateLimit ? [{ policy: 'key', subject: `key:${principal.keyId}`, limit: principal.keyRateLimit }] : []),
    ...(principal.orgRateLimit ? [{ policy: 'org', subject: `org:${principal.orgId}`, limit: principal.orgRateLimit }] : []),
  ];
}

/** How many calls a body holds: a JSON-RPC batch counts each of its calls (the dispatcher bounds a batch at 100). */
function callsIn(body: string): number {
  if (!body.trimStart().startsWith('[')) return 1;
  try {
    const parsed: unknown = JSON.parse(body);
    return Array.isArray(parsed) ? Math.min(Math.max(parsed.length, 1), MAX_TAKE_WEIGHT) : 1;
  } catch {
    return 1;
  }
}

/**
 * Counts a paid-call request (each call of a batch) against the key's and the organization's rate limits (both or
 * neither, in one round trip to the limiter) and puts the RateLimit-Policy / RateLimit fields on
 * its answer, whatever it is. Over a limit: HTTP 429 with a JSON-RPC error, reason `rate_limited`,
 * and Retry-After; nothing runs. A limiter that does not answer lets the call through (ADR 0011):
 * money never depends on it.
 */
export function limitPaidCalls(limiter: RateLimiter, refuse: RefuseCall, observe: Observer): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const checks = rateChecksOf(c.get('principal'));
    if (checks.length === 0) return next();
    // a JSON-RPC endpoint read its body first (a batch counts each call); a REST call is one call
    const body = c.get('body') as string | undefined;
    const calls = body === undefined ? 1 : callsIn(body);
    const decision = await limiter.takeAll(checks, { weight: calls });
    for (const [name, value] of Object.entries(rateLimitHeaders(decision))) c.header(name, value);
    if (decision.allowed) return next();
    const exceeded = decision.counted ? decision.quotas.filter((quota) => quota.exceeded) : [];
    // A batch with more calls than a limit allows in a window never passes: waiting would not help.
    const neverPasses = exceeded.some((quota) => quota.limit.requests < calls);
    if (neverPasses) c.header('Retry-After', undefined);
    observe.refused('rate_limited', calls);
    return refuse(
      c,
      429,
      new RpcError(RpcCode.CreditsOrUnsupported, 'Rate limited: too many calls for this API key or its organization', {
        reason: 'rate_limited',
        limits: exceeded.map((quota) => ({
          policy: quota.policy,
          requests: quota.limit.requests,
          windowSeconds: quota.limit.windowSeconds,
        })),
        calls,
        ...(neverPasses
          ? { detail: 'the batch holds more calls than the limit allows in a window: send smaller batches' }
          : { retryAfterSeconds: decision.counted ? decision.retryAfterSeconds : undefined }),
      }),
    );
  };
}
