import {
  assertLimits,
  type CounterReading,
  callDecision,
  type RateCheck,
  type RateLimiter,
  type RateLimitStoreHealth,
  type TakeOptions,
  takeOne,
  takeWeight,
} from './rate-limiter.js';

/**
 * Counters in this instance's memory, with the same windows as the Redis store: each instance
 * limits on its own, so N instances let N times the limit through. At most `maxCounters` are kept,
 * the least recently used dropped first (a dropped subject starts a fresh window: the memory stays
 * bounded whatever the number of subjects, at the price of forgetting the quietest ones).
 */
export function createMemoryRateLimiter(options: { maxCounters?: number; now?: () => number } = {}): RateLimiter {
  const maxCounters = options.maxCounters ?? 50_000;
  const now = options.now ?? Date.now;
  const counters = new Map<string, { count: number; endsAt: number }>();

  const readCounter = (key: string, at: number): CounterReading => {
    const counter = counters.get(key);
    if (!counter || counter.endsAt <= at) return { count: 0, msLeft: undefined };
    return { count: counter.count, msLeft: counter.endsAt - at };
  };

  const limiter: RateLimiter = {
    store: { kind: 'memory' },
    take: (subject, limit) => takeOne(limiter, subject, limit),
    async takeAll(checks: readonly RateCheck[], options?: TakeOptions) {
      assertLimits(checks);
      const weight = takeWeight(options);
      const at = now();
      const keys = checks.map((check) => `${check.subject}:${check.limit.windowSeconds}`);
      const before = keys.map((key) => readCounter(key, at));
      const allowed = checks.every((check, index) => before[index]!.count + weight <= check.limit.requests);
      if (!allowed) {
        // A subject refused is still in use: it moves to the back of the queue like one allowed, so
        // traffic from other subjects cannot push a hammering one out and hand it a fresh window.
        for (const key of keys) {
          const counter = counters.get(key);
          if (counter) {
            counters.delete(key);
            counters.set(key, counter);
          }
        }
        return callDecision(checks, before, false, weight);
      }
      const after = keys.map((key, index): CounterReading => {
        const reading = before[index]!;
        const endsAt = reading.msLeft === undefined ? at + checks[index]!.limit.windowSeconds * 1000 : at + reading.msLeft;
        // Delete and set again: a Map iterates in insertion order, so the first key is the least recently used.
        counters.delete(key);
        counters.set(key, { count: reading.count + weight, endsAt });
        return { count: reading.count + weight, msLeft: endsAt - at };
      });
      while (counters.size > maxCounters) counters.delete(counters.keys().next().value as string);
      return callDecision(checks, after, true, weight);
    },
    health: async (): Promise<RateLimitStoreHealth> => ({ store: 'memory' }),
    close: async () => {},
  };
  return limiter;
}
