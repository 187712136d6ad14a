import { describe, expect, it } from 'vitest';
import { createMemoryRateLimiter } from '../../src/limits/memory-store.js';
import type { RateCheck } from '../../src/limits/rate-limiter.js';

/** The in-memory store, on a clock the test moves: exact counts, the figures the headers carry, windows, all-or-none. */
describe('rate limits in this instance memory', () => {
  const perMinute = (requests: number) => ({ requests, windowSeconds: 60 });

  it('20 a minute: 20 allowed with remaining 19…0, then refused until the window that began with the first ends', async () => {
    let now = 1_000_000;
    const limiter = createMemoryRateLimiter({ now: () => now });
    for (let n = 1; n <= 20; n++) {
      const decision = await limiter.take('key:a', perMinute(20));
      expect(decision).toEqual({
        counted: true,
        allowed: true,
        limit: perMinute(20),
        remaining: 20 - n,
        // a second later each time: the window that began with the first has 60, 59, … seconds left
        resetSeconds: 61 - n,
        retryAfterSeconds: undefined,
      });
      now += 1_000;
    }
    // 20 s into the window: 40 s are left.
    expect(await limiter.take('key:a', perMinute(20))).toEqual({
      counted: true,
      allowed: false,
      limit: perMinute(20),
      remaining: 0,
      resetSeconds: 40,
      retryAfterSeconds: 40,
    });
    now += 39_500;
    // Half a second left: rounded up, so a client that waits what it is told finds the window over.
    expect(await limiter.take('key:a', perMinute(20))).toMatchObject({ allowed: false, resetSeconds: 1, retryAfterSeconds: 1 });
    now += 500;
    expect(await limiter.take('key:a', perMinute(20))).toMatchObject({ allowed: true, remaining: 19, resetSeconds: 60 });
    expect(await limiter.take('key:b', perMinute(20))).toMatchObject({ allowed: true, remaining: 19 });
  });

  it('refused calls are not counted: hammering a full window does not push its end', async () => {
    let now = 0;
    const limiter = createMemoryRateLimiter({ now: () => now });
    await limiter.take('k', { requests: 1, windowSeconds: 10 });
    for (let n = 0; n < 50; n++) {
      now += 100;
      expect((await limiter.take('k', { requests: 1, windowSeconds: 10 })).allowed).toBe(false);
    }
    now = 10_000;
    expect((await limiter.take('k', { requests: 1, windowSeconds: 10 })).allowed).toBe(true);
  });

  it('a key limit and an organization limit at once: a call one of them refuses is counted by neither', async () => {
    const limiter = createMemoryRateLimiter({ now: () => 0 });
    const checks = (key: string) => [
      { policy: 'key', subject: `key:${key}`, limit: perMinute(2) },
      { policy: 'org', subject: 'org:1', limit: perMinute(3) },
    ];
    expect((await limiter.takeAll(checks('a'))).allowed).toBe(true);
    expect((await limiter.takeAll(checks('a'))).allowed).toBe(true);
    const refusedByKey = await limiter.takeAll(checks('a'));
    expect(refusedByKey).toEqual({
      counted: true,
      allowed: false,
      weight: 1,
      retryAfterSeconds: 60,
      quotas: [
        { policy: 'key', limit: perMinute(2), remaining: 0, resetSeconds: 60, exceeded: true },
        // the organization's third request is still there for another key
        { policy: 'org', limit: perMinute(3), remaining: 1, resetSeconds: 60, exceeded: false },
      ],
    });
    expect(await limiter.takeAll(checks('b'))).toMatchObject({
      allowed: true,
      quotas: [
        { policy: 'key', remaining: 1 },
        { policy: 'org', remaining: 0 },
      ],
    });
    const refusedByOrg = await limiter.takeAll(checks('c'));
    expect(refusedByOrg).toMatchObject({
      allowed: false,
      quotas: [
        { policy: 'key', remaining: 2, resetSeconds: 60, exceeded: false },
        { policy: 'org', remaining: 0, exceeded: true },
      ],
    });
    // key c was not counted by the refused call: its two requests are intact once the organization has room
    expect((await limiter.take('key:c', perMinute(2))).allowed).toBe(true);
    expect((await limiter.take('key:c', perMinute(2))).allowed).toBe(true);
  });

  it('Retry-After is the latest end among the limits that refused', async () => {
    let now = 0;
    const limiter = createMemoryRateLimiter({ now: () => now });
    await limiter.take('key:x', { requests: 1, windowSeconds: 10 });
    now = 5_000;
    await limiter.take('org:x', { requests: 1, windowSeconds: 60 });
    const decision = await limiter.takeAll([
      { policy: 'key', subject: 'key:x', limit: { requests: 1, windowSeconds: 10 } },
      { policy: 'org', subject: 'org:x', limit: { requests: 1, windowSeconds: 60 } },
    ]);
    expect(decision).toMatchObject({ allowed: false, retryAfterSeconds: 60, quotas: [{ resetSeconds: 5 }, { resetSeconds: 60 }] });
  });

  it('a subject counts each window length apart: changing a policy window starts a fresh count', async () => {
    const limiter = createMemoryRateLimiter({ now: () => 0 });
    expect((await limiter.take('k', { requests: 1, windowSeconds: 60 })).allowed).toBe(true);
    expect((await limiter.take('k', { requests: 1, windowSeconds: 60 })).allowed).toBe(false);
    expect((await limiter.take('k', { requests: 1, windowSeconds: 3600 })).allowed).toBe(true);
  });

  it('keeps at most maxCounters, forgetting the least recently used first', async () => {
    const limiter = createMemoryRateLimiter({ maxCounters: 2, now: () => 0 });
    const oneAMinute = { requests: 1, windowSeconds: 60 };
    await limiter.take('a', oneAMinute);
    await limiter.take('b', oneAMinute);
    expect((await limiter.take('a', oneAMinute)).allowed).toBe(false); // a is now the most recent
    await limiter.take('c', oneAMinute); // b, the least recently used, is dropped
    expect((await limiter.take('a', oneAMinute)).allowed).toBe(false);
    expect((await limiter.take('b', oneAMinute)).allowed).toBe(true);
  });

  it('refuses limits that are not whole positive numbers before any counter moves', async () => {
    const limiter = createMemoryRateLimiter();
    await expect(limiter.take('k', { requests: 0, windowSeconds: 60 })).rejects.toThrow(RangeError);
    await expect(limiter.take('k', { requests: 1.5, windowSeconds: 60 })).rejects.toThrow(RangeError);
    await expect(limiter.take('k', { requests: 1, windowSeconds: 0 })).rejects.toThrow(RangeError);
    expect(await limiter.health()).toEqual({ store: 'memory' });
  });
});

/** A JSON-RPC batch counts its calls: `takeAll(checks, { weight })` takes them all at once, or none. */
describe('weighted takes in this instance memory', () => {
  const tenAMinute = { requests: 10, windowSeconds: 60 };
  const only = (subject: string, limit = tenAMinute): RateCheck[] => [{ policy: 'key', subject, limit }];

  it('10 a minute, batches of 3: three pass (remaining 7, 4, 1), the fourth is refused, then a single call passes', async () => {
    let now = 0;
    const limiter = createMemoryRateLimiter({ now: () => now });
    for (const [remaining, resetSeconds] of [
      [7, 60],
      [4, 59],
      [1, 58],
    ]) {
      // a second apart: the window began with the first batch, and later ones do not move its end
      expect(await limiter.takeAll(only('key:a'), { weight: 3 })).toMatchObject({
        counted: true,
        allowed: true,
        weight: 3,
        quotas: [{ remaining, resetSeconds, exceeded: false }],
      });
      now += 1_000;
    }
    // one request is left, three asked: refused, and the window is not pushed
    expect(await limiter.takeAll(only('key:a'), { weight: 3 })).toEqual({
      counted: true,
      allowed: false,
      weight: 3,
      retryAfterSeconds: 57,
      quotas: [{ policy: 'key', limit: tenAMinute, remaining: 1, resetSeconds: 57, exceeded: true }],
    });
    expect(await limiter.takeAll(only('key:a'))).toMatchObject({ allowed: true, weight: 1, quotas: [{ remaining: 0 }] });
    expect((await limiter.takeAll(only('key:a'))).allowed).toBe(false);
    now = 60_000;
    expect(await limiter.takeAll(only('key:a'), { weight: 10 })).toMatchObject({ allowed: true, quotas: [{ remaining: 0 }] });
  });

  it('a batch heavier than a limit never passes, whatever it waits, moves nothing, and the decision says why', async () => {
    let now = 0;
    const limiter = createMemoryRateLimiter({ now: () => now });
    for (const waited of [0, 61_000, 3_600_000]) {
      now += waited;
      const decision = await limiter.takeAll(only('key:a'), { weight: 11 });
      expect(decision).toMatchObject({ counted: true, allowed: false, weight: 11, quotas: [{ remaining: 10, exceeded: true }] });
      // what a caller checks to answer "send smaller batches" rather than "retry later"
      expect(decision.counted && decision.quotas.some((quota) => quota.exceeded && quota.limit.requests < decision.weight)).toBe(true);
    }
    // nothing was counted: the whole limit is there, in one batch
    expect(await limiter.takeAll(only('key:a'), { weight: 10 })).toMatchObject({ allowed: true, quotas: [{ remaining: 0 }] });
  });

  it('two limits, one with room for the batch and one without: refused, and neither counter moves', async () => {
    const limiter = createMemoryRateLimiter({ now: () => 0 });
    const checks: RateCheck[] = [
      { policy: 'key', subject: 'key:a', limit: tenAMinute },
      { policy: 'org', subject: 'org:1', limit: { requests: 5, windowSeconds: 60 } },
    ];
    await limiter.takeAll([checks[1]!], { weight: 3 });
    const refused = await limiter.takeAll(checks, { weight: 3 });
    expect(refused).toMatchObject({
      allowed: false,
      quotas: [
        { policy: 'key', remaining: 10, exceeded: false },
        { policy: 'org', remaining: 2, exceeded: true },
      ],
    });
    // limit.requests ≥ weight on both: this refusal passes once the organization has room
    expect(refused.counted && refused.quotas.some((quota) => quota.exceeded && quota.limit.requests < refused.weight)).toBe(false);
    expect(await limiter.takeAll(checks, { weight: 2 })).toMatchObject({
      allowed: true,
      quotas: [{ remaining: 8 }, { remaining: 0 }],
    });
  });

  it('refuses a weight that is not a whole number from 1 to 1000 before any counter moves', async () => {
    const limiter = createMemoryRateLimiter({ now: () => 0 });
    for (const weight of [0, -1, 1.5, Number.NaN, 1_001]) {
      await expect(limiter.takeAll(only('key:a'), { weight })).rejects.toThrow(RangeError);
    }
    expect(await limiter.takeAll(only('key:a', { requests: 1_000, windowSeconds: 60 }), { weight: 1_000 })).toMatchObject({
      allowed: true,
      quotas: [{ remaining: 0 }],
    });
  });
});
