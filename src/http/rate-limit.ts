import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';

/**
 * Token buckets by key in this instance's memory: each key may make `perMinute` requests at once,
 * refilled evenly over a minute. At most `maxKeys` keys are kept, the least recently seen dropped
 * first. With several instances, each has its own buckets.
 */
export function createRateLimiter(options: { perMinute: number; maxKeys?: number }) {
  const maxKeys = options.maxKeys ?? 10_000;
  const perMs = options.perMinute / 60_000;
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    /** Takes one request's token for `key`: 0 when it may go, else the seconds until it may. */
    take(key: string, now = Date.now()): number {
      const bucket = buckets.get(key) ?? { tokens: options.perMinute, at: now };
      bucket.tokens = Math.min(options.perMinute, bucket.tokens + (now - bucket.at) * perMs);
      bucket.at = now;
      buckets.delete(key);
      buckets.set(key, bucket);
      if (buckets.size > maxKeys) buckets.delete(buckets.keys().next().value as string);
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return 0;
      }
      return Math.ceil((1 - bucket.tokens) / perMs / 1000);
    },
  };
}

/**
 * The address a request came from: the first X-Forwarded-For entry behind a trusted proxy, else the
 * socket's peer; undefined without a socket (requests made in-process, as the tests do).
 */
export function clientAddress(c: Context, trustProxy: boolean): string | undefined {
  const forwarded = trustProxy ? c.req.header('x-forwarded-for')?.split(',')[0]?.trim() : undefined;
  if (forwarded) return forwarded;
  try {
    return getConnInfo(c).remote.address;
  } catch {
    return undefined;
  }
}
