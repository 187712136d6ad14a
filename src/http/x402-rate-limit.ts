import type { Context } from 'hono';
import type { CallDecision, RateLimiter } from '../limits/rate-limiter.js';
import type { X402Payments } from '../x402/payments.js';
import type { AppEnv } from './env.js';
import { clientAddress, rateLimitHeaders } from './rate-limit.js';

/**
 * Counts an x402 request (an offer asked for, or a payment checked, which costs chain reads) against
 * its client address's X402_PAYMENTS_PER_MINUTE, on every instance together when rate limits are
 * shared through Redis: a caller without a key has no key's limits. Sets the RateLimit headers;
 * undefined without a socket to name the client (requests made in-process).
 */
export async function takeX402Allowance(c: Context<AppEnv>, x402: X402Payments, limiter: RateLimiter): Promise<CallDecision | undefined> {
  const client = clientAddress(c, x402.settings.trustProxy);
  if (client === undefined) return undefined;
  const decision = await limiter.takeAll([
    { policy: 'x402-payment', subject: `x402-payment:${client}`, limit: { requests: x402.settings.paymentsPerMinute, windowSeconds: 60 } },
  ]);
  for (const [name, value] of Object.entries(rateLimitHeaders(decision))) c.header(name, value);
  return decision;
}
