import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RateLimiter } from '../../src/limits/rate-limiter.js';
import { openRedisRateLimiter, redisAddress } from '../../src/limits/redis-store.js';
import { capturedLog, type LogLine } from '../helpers/captured-log.js';
import { startTestGateway } from '../helpers/gateway.js';
import { freePort } from '../helpers/loopback.js';
import { type OwnRedis, startOwnRedis, uniqueKeyPrefix } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Money never depends on Redis: while it does not answer, every call goes through uncounted, the
 * outage is logged once, and limiting resumes when Redis is back. The Redis stopped here is the
 * test's own, on a port of its own; the machine's is never touched.
 */
const WARN = 40;
const INFO = 30;
const limit = { requests: 3, windowSeconds: 60 };

const outageWarnings = (lines: LogLine[]) => lines.filter((line) => line.level === WARN && /fail open/.test(line.msg));
const recoveries = (lines: LogLine[]) => lines.filter((line) => line.level === INFO && /answers again/.test(line.msg));

/** Takes `count` calls one after the other; the milliseconds each waited. */
async function timedTakes(limiter: RateLimiter, subject: string, count: number): Promise<number[]> {
  const waits: number[] = [];
  for (let n = 0; n < count; n++) {
    const started = performance.now();
    expect(await limiter.take(subject, limit)).toEqual({ counted: false, allowed: true, limit });
    waits.push(performance.now() - started);
  }
  return waits;
}

/** Three allowed, the fourth refused: the limit is enforced. */
async function expectEnforced(limiter: RateLimiter, subject: string): Promise<void> {
  for (let n = 0; n < 3; n++) expect(await limiter.take(subject, limit)).toMatchObject({ counted: true, allowed: true });
  expect(await limiter.take(subject, limit)).toMatchObject({ counted: true, allowed: false });
}

describe('rate limits fail open while Redis does not answer, and recover when it does', () => {
  let redis: OwnRedis;
  beforeAll(async () => {
    redis = await startOwnRedis();
  });
  afterAll(async () => {
    await redis?.dispose();
  });

  it('Redis stopped: calls are allowed at once with one warning for the outage; started again on its port: limiting resumes, with one info', async () => {
    const { log, lines } = capturedLog('info');
    const limiter = await openRedisRateLimiter({ url: redis.url, log, keyPrefix: uniqueKeyPrefix() });
    try {
      await expectEnforced(limiter, 'key:a');

      await redis.stop();
      const waits = await timedTakes(limiter, 'key:a', 50);
      // The connection is refused: without an offline queue, ioredis fails each command at once.
      expect(Math.max(...waits)).toBeLessThan(50);
      expect(outageWarnings(lines)).toHaveLength(1);
      expect(outageWarnings(lines)[0]).toMatchObject({ redis: redisAddress(redis.url) });

      await redis.start();
      // ioredis reconnects at most a second apart; while down, one call a second asks Redis again.
      await waitFor(async () => (await limiter.take('probe', limit)).counted, 'limiting to resume', 10_000);
      expect(recoveries(lines)).toHaveLength(1);
      // The new Redis kept nothing (--save ""): key a starts a fresh window.
      await expectEnforced(limiter, 'key:a');
      expect(outageWarnings(lines)).toHaveLength(1);
    } finally {
      await limiter.close();
    }
  });

  it('Redis hangs (SIGSTOP): one call waits the command timeout, the others of that second none; SIGCONT: limiting resumes', async () => {
    const { log, lines } = capturedLog('info');
    const limiter = await openRedisRateLimiter({ url: redis.url, log, keyPrefix: uniqueKeyPrefix() });
    try {
      await expectEnforced(limiter, 'key:a');

      redis.pause();
      const [first, ...others] = await timedTakes(limiter, 'key:a', 20);
      // The default command timeout is 250 ms.
      expect(first).toBeGreaterThanOrEqual(240);
      expect(first).toBeLessThan(1_000);
      expect(Math.max(...others)).toBeLessThan(50);
      expect(outageWarnings(lines)).toHaveLength(1);

      redis.resume();
      await waitFor(async () => (await limiter.take('probe', limit)).counted, 'limiting to resume', 10_000);
      expect(recoveries(lines)).toHaveLength(1);
      // Redis kept key a's count through the pause: still refused.
      expect(await limiter.take('key:a', limit)).toMatchObject({ counted: true, allowed: false });
    } finally {
      await limiter.close();
    }
  });

  it('a gateway whose Redis never answers starts, stays ready (saying so on /readyz), and answers calls unlimited', async () => {
    const { log, lines } = capturedLog('info');
    const url = `redis://127.0.0.1:${await freePort()}`;
    const started = performance.now();
    const rateLimiter = await openRedisRateLimiter({ url, log, keyPrefix: uniqueKeyPrefix() });
    // the first connection is waited for a bounded time (connect timeout + 250 ms), then the start goes on
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(outageWarnings(lines)).toHaveLength(1);
    const gateway = await startTestGateway({ rateLimiter, nonces: { perMinute: 1, trustProxy: true } });
    try {
      const ready = await gateway.app.request('/readyz');
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({
        status: 'ready',
        database: gateway.database.db.kind,
        rateLimits: { store: 'redis', address: redisAddress(url), answering: false },
      });
      // One nonce a minute, yet three in a row: nothing is counted while Redis does not answer. The
      // limit is still announced; what is left is not known, so RateLimit is not sent.
      for (let n = 0; n < 3; n++) {
        const nonce = await gateway.app.request('/v1/auth/nonce', { method: 'POST', headers: { 'x-forwarded-for': '203.0.113.9' } });
        expect(nonce.status).toBe(201);
        expect(nonce.headers.get('ratelimit-policy')).toBe('"nonce";q=1;w=60');
        expect(nonce.headers.get('ratelimit')).toBeNull();
      }
      expect(outageWarnings(lines)).toHaveLength(1);
    } finally {
      await gateway.close();
      await rateLimiter.close();
    }
  });
});
