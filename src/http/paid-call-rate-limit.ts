import type { MiddlewareHandler } from 'hono';
import type { Principal } from '../auth/api-keys.js';
import type { RateCheck, RateLimiter } from '../limits/rate-limiter.js';
import { RpcCode, RpcError } from '../rpc/errors.js';
import type { RefuseCall } from './api-key-auth.js';
import type { AppEnv } from './env.js';
import { rateLimitHeaders } from './rate-limit.js';

/** The key's and its organization's rate limits (issue 16), as the limiter's checks; none when neither has one. */
export function rateChecksOf(principal: Principal): RateCheck[] {
  return [
    ...(principal.keyRateLimit ? [{ policy: 'key', subject: `key:${principal.keyId}`, limit: principal.keyRateLimit }] : []),
    ...(principal.orgRateLimit ? [{ policy: 'org', subject: `org:${principal.orgId}`, limit: principal.orgRateLimit }] : []),
  ];
}

/**
 * Counts a paid-call request against the key's and the organization's rate limits (both or
 * neither, in one round trip to the limiter) and puts the RateLimit-Policy / RateLimit fields on
 * its answer, whatever it is. Over a limit: HTTP 429 with a JSON-RPC error, reason `rate_limited`,
 * and Retry-After; nothing runs. A limiter that does not answer lets the call through (ADR 0011):
 * money never depends on it.
 */
export function limitPaidCalls(limiter: RateLimiter, refuse: RefuseCall): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const checks = rateChecksOf(c.get('principal'));
    if (checks.length === 0) return next();
    const decision = await limiter.takeAll(checks);
    for (const [name, value] of Object.entries(rateLimitHeaders(decision))) c.header(name, value);
    if (decision.allowed) return next();
    const exceeded = decision.counted ? decision.quotas.filter((quota) => quota.exceeded) : [];
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
        retryAfterSeconds: decision.counted ? decision.retryAfterSeconds : undefined,
      }),
    );
  };
}
