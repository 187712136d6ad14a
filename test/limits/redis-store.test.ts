import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RateCheck, RateLimiter } from '../../src/limits/rate-limiter.js';
import { openRedisRateLimiter, redisAddress } from '../../src/limits/redis-store.js';
import { MACHINE_REDIS_URL, uniqueKeyPrefix } from '../helpers/redis.js';

/**
 * Rate limits shared through the machine's Redis. Each test counts under a key prefix of its own,
 * and each limiter has its own connection, as two gateway processes would.
 */
const quiet = pino({ level: 'silent' });
const opened: RateLimiter[] = [];

async function limiterOn(keyPrefix: string): Promise<RateLimiter> {
  const limiter = await openRedisRateLimiter({ url: MACHINE_REDIS_URL, log: quiet, keyPrefix });
  opened.push(limiter);
  return limiter;
}

afterEach(async () => {
  for (const limiter of opened.splice(0)) await limiter.close();
});

describe('rate limits shared through Redis', () => {
  let admin: Redis;
  beforeAll(() => {
    admin = new Redis(MACHINE_REDIS_URL);
  });
  afterAll(async () => {
    await admin.quit();
  });

  it('20 a minute: 20 allowed with remaining 19…0, then refused with the seconds left in the window', async () => {
    const limiter = await limiterOn(uniqueKeyPrefix());
    const limit = { requests: 20, windowSeconds: 60 };
    for (let n = 1; n <= 20; n++) {
      const decision = await limiter.take('key:a', limit);
      expect(decision).toMatchObject({ counted: true, allowed: true, remaining: 20 - n, retryAfterSeconds: undefined });
      if (decision.counted) expect([59, 60]).toContain(decision.resetSeconds);
    }
    for (let n = 0; n < 3; n++) {
      const refused = await limiter.take('key:a', limit);
      expect(refused).toMatchObject({ counted: true, allowed: false, remaining: 0 });
      if (refused.counted) {
        expect(refused.resetSeconds).toBeGreaterThanOrEqual(59);
        expect(refused.retryAfterSeconds).toBe(refused.resetSeconds);
      }
    }
    expect(await limiter.take('key:b', limit)).toMatchObject({ allowed: true, remaining: 19 });
    expect(await limiter.health()).toEqual({ store: 'redis', address: redisAddress(MACHINE_REDIS_URL), answering: true });
  });

  it('a window ends when its key expires in Redis, and the whole limit is back', async () => {
    const prefix = uniqueKeyPrefix();
    const limiter = await limiterOn(prefix);
    const limit = { requests: 2, windowSeconds: 1 };
    expect((await limiter.take('k', limit)).allowed).toBe(true);
    expect((await limiter.take('k', limit)).allowed).toBe(true);
    expect(await limiter.take('k', limit)).toMatchObject({ allowed: false, resetSeconds: 1, retryAfterSeconds: 1 });
    const msLeft = await admin.pttl(`${prefix}k:1`);
    expect(msLeft).toBeGreaterThan(0);
    expect(msLeft).toBeLessThanOrEqual(1_000);
    await new Promise((resolve) => setTimeout(resolve, msLeft + 20));
    expect(await limiter.take('k', limit)).toMatchObject({ allowed: true, remaining: 1 });
  });

  it('two instances (two connections) sharing a key limited to 20 a minute allow exactly 20 in total under concurrency', async () => {
    const prefix = uniqueKeyPrefix();
    const [one, two] = [await limiterOn(prefix), await limiterOn(prefix)];
    const limit = { requests: 20, windowSeconds: 60 };
    const calls = Array.from({ length: 60 }, (_, n) => (n % 2 === 0 ? one : two).take('key:shared', limit));
    const decisions = await Promise.all(calls);
    expect(decisions.filter((decision) => decision.allowed)).toHaveLength(20);
    expect(decisions.every((decision) => decision.counted)).toBe(true);
    // the remaining figures handed out are each of 19…0 exactly once
    const remainders = decisions.flatMap((decision) => (decision.counted && decision.allowed ? [decision.remaining] : []));
    expect(remainders.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, n) => n));
    expect(await admin.get(`${prefix}key:shared:60`)).toBe('20');
  });

  it('a key limit and an organization limit in one round trip: a call one refuses is counted by neither, on every instance', async () => {
    const prefix = uniqueKeyPrefix();
    const [one, two] = [await limiterOn(prefix), await limiterOn(prefix)];
    const checks = (key: string): RateCheck[] => [
      { policy: 'key', subject: `key:${key}`, limit: { requests: 2, windowSeconds: 60 } },
      { policy: 'org', subject: 'org:1', limit: { requests: 3, windowSeconds: 60 } },
    ];
    expect((await one.takeAll(checks('a'))).allowed).toBe(true);
    expect((await two.takeAll(checks('a'))).allowed).toBe(true);
    const refusedByKey = await one.takeAll(checks('a'));
    expect(refusedByKey).toMatchObject({
      counted: true,
      allowed: false,
      quotas: [
        { policy: 'key', remaining: 0, exceeded: true },
        { policy: 'org', remaining: 1, exceeded: false },
      ],
    });
    expect(refusedByKey.counted && refusedByKey.retryAfterSeconds).toBeGreaterThanOrEqual(59);
    expect(await admin.get(`${prefix}org:1:60`)).toBe('2');
    expect(await two.takeAll(checks('b'))).toMatchObject({ allowed: true, quotas: [{ remaining: 1 }, { remaining: 0 }] });
    expect(await one.takeAll(checks('c'))).toMatchObject({
      allowed: false,
      quotas: [
        { policy: 'key', remaining: 2, resetSeconds: 60, exceeded: false },
        { policy: 'org', remaining: 0, exceeded: true },
      ],
    });
    expect(await admin.exists(`${prefix}key:c:60`)).toBe(0);
  });

  it('costs one command per call, however many limits it checks and whatever its weight (the script runs the rest inside Redis)', async () => {
    const prefix = uniqueKeyPrefix();
    const limiter = await limiterOn(prefix);
    const monitor = await admin.monitor();
    const sent: string[] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      // commands the script runs are reported with source "lua"; those the client sent, with its address
      if (source !== 'lua' && args.some((arg) => arg.startsWith(prefix))) sent.push(String(args[0]).toLowerCase());
    });
    try {
      const checks: RateCheck[] = [
        { policy: 'key', subject: 'key:a', limit: { requests: 5, windowSeconds: 60 } },
        { policy: 'org', subject: 'org:a', limit: { requests: 50, windowSeconds: 60 } },
      ];
      for (let n = 0; n < 3; n++) await limiter.takeAll(checks, { weight: n + 1 });
      await new Promise((resolve) => setTimeout(resolve, 100));
      // the first on a connection sends the script itself (EVAL), the next ones its SHA1 (EVALSHA)
      expect(sent).toEqual(['eval', 'evalsha', 'evalsha']);
    } finally {
      monitor.disconnect();
    }
  });
});

/** A JSON-RPC batch counts its calls: `takeAll(checks, { weight })` moves each counter by the weight in the one script, or none. */
describe('weighted takes shared through Redis', () => {
  const tenAMinute = { requests: 10, windowSeconds: 60 };
  const only = (subject: string, limit = tenAMinute): RateCheck[] => [{ policy: 'key', subject, limit }];
  let admin: Redis;
  beforeAll(() => {
    admin = new Redis(MACHINE_REDIS_URL);
  });
  afterAll(async () => {
    await admin.quit();
  });

  it('10 a minute, batches of 3: three pass, the fourth is refused and counts nothing, then a single call passes', async () => {
    const prefix = uniqueKeyPrefix();
    const limiter = await limiterOn(prefix);
    const counter = `${prefix}key:a:60`;
    expect(await limiter.takeAll(only('key:a'), { weight: 3 })).toMatchObject({ allowed: true, weight: 3, quotas: [{ remaining: 7 }] });
    expect(await admin.get(counter)).toBe('3');
    // Shorten the window by hand: a later INCRBY must leave the expiry the first one set.
    await admin.pexpire(counter, 30_000);
    for (const remaining of [4, 1]) {
      const decision = await limiter.takeAll(only('key:a'), { weight: 3 });
      expect(decision).toMatchObject({ allowed: true, quotas: [{ remaining, exceeded: false }] });
      expect(decision.counted && decision.quotas[0]!.resetSeconds).toBeLessThanOrEqual(30);
    }
    expect(await admin.pttl(counter)).toBeLessThanOrEqual(30_000);
    const refused = await limiter.takeAll(only('key:a'), { weight: 3 });
    expect(refused).toMatchObject({ counted: true, allowed: false, weight: 3, quotas: [{ remaining: 1, exceeded: true }] });
    expect(refused.counted && refused.retryAfterSeconds).toBeLessThanOrEqual(30);
    expect(await admin.get(counter)).toBe('9');
    expect(await limiter.takeAll(only('key:a'))).toMatchObject({ allowed: true, weight: 1, quotas: [{ remaining: 0 }] });
    expect(await admin.get(counter)).toBe('10');
  });

  it('a batch heavier than a limit never passes and moves nothing: no counter is created, an existing one keeps its count', async () => {
    const prefix = uniqueKeyPrefix();
    const limiter = await limiterOn(prefix);
    const fresh = await limiter.takeAll(only('key:new'), { weight: 11 });
    expect(fresh).toMatchObject({
      counted: true,
      allowed: false,
      weight: 11,
      quotas: [{ remaining: 10, resetSeconds: 60, exceeded: true }],
    });
    expect(fresh.counted && fresh.quotas.some((quota) => quota.exceeded && quota.limit.requests < fresh.weight)).toBe(true);
    expect(await admin.exists(`${prefix}key:new:60`)).toBe(0);

    await limiter.takeAll(only('key:used'));
    expect(await limiter.takeAll(only('key:used'), { weight: 11 })).toMatchObject({ allowed: false, quotas: [{ remaining: 9 }] });
    expect(await admin.get(`${prefix}key:used:60`)).toBe('1');
  });

  it('two limits, one with room for the batch and one without: refused, and neither counter moves', async () => {
    const prefix = uniqueKeyPrefix();
    const limiter = await limiterOn(prefix);
    const checks: RateCheck[] = [
      { policy: 'key', subject: 'key:a', limit: tenAMinute },
      { policy: 'org', subject: 'org:1', limit: { requests: 5, windowSeconds: 60 } },
    ];
    await limiter.takeAll([checks[1]!], { weight: 3 });
    expect(await limiter.takeAll(checks, { weight: 3 })).toMatchObject({
      allowed: false,
      quotas: [
        { policy: 'key', remaining: 10, exceeded: false },
        { policy: 'org', remaining: 2, exceeded: true },
      ],
    });
    expect(await admin.exists(`${prefix}key:a:60`)).toBe(0);
    expect(await admin.get(`${prefix}org:1:60`)).toBe('3');
    expect(await limiter.takeAll(checks, { weight: 2 })).toMatchObject({ allowed: true, quotas: [{ remaining: 8 }, { remaining: 0 }] });
  });

  it('two instances racing weighted takes against a key and an organization limit never pass either in total', async () => {
    const prefix = uniqueKeyPrefix();
    const [one, two] = [await limiterOn(prefix), await limiterOn(prefix)];
    const keyLimit = { requests: 30, windowSeconds: 60 };
    const orgLimit = { requests: 40, windowSeconds: 60 };
    const calls = Array.from({ length: 80 }, (_, n) => {
      const key = n % 3 === 0 ? ('key:a' as const) : ('key:b' as const);
      const weight = (n % 7) + 1;
      const checks: RateCheck[] = [
        { policy: 'key', subject: key, limit: keyLimit },
        { policy: 'org', subject: 'org:1', limit: orgLimit },
      ];
      return (n % 2 === 0 ? one : two).takeAll(checks, { weight }).then((decision) => ({ key, weight, decision }));
    });
    const results = await Promise.all(calls);
    expect(results.every(({ decision }) => decision.counted)).toBe(true);
    const allowedWeight = (key?: string) =>
      results
        .filter((result) => result.decision.allowed && (key === undefined || result.key === key))
        .reduce((sum, result) => sum + result.weight, 0);
    // each counter holds exactly the weights it let through, and none is past its limit
    const counts = {
      'key:a': Number(await admin.get(`${prefix}key:a:60`)),
      'key:b': Number(await admin.get(`${prefix}key:b:60`)),
      org: Number(await admin.get(`${prefix}org:1:60`)),
    };
    expect(counts).toEqual({ 'key:a': allowedWeight('key:a'), 'key:b': allowedWeight('key:b'), org: allowedWeight() });
    expect(counts['key:a']).toBeLessThanOrEqual(keyLimit.requests);
    expect(counts['key:b']).toBeLessThanOrEqual(keyLimit.requests);
    expect(counts.org).toBeLessThanOrEqual(orgLimit.requests);
    // 80 batches of 4 on average ask far more than 40: the organization's limit was reached, not left idle
    expect(counts.org).toBeGreaterThan(orgLimit.requests - 7);
    // counters only grow, so every refused batch still lacks room in one of its counters at the end
    for (const { key, weight } of results.filter((result) => !result.decision.allowed)) {
      expect(counts[key] + weight > keyLimit.requests || counts.org + weight > orgLimit.requests).toBe(true);
    }
  });
});
