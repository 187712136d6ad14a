import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATOR } from '../../src/audit/record.js';
import { getCreditAccount } from '../../src/billing/accounts.js';
import { seedDemoData } from '../../src/db/demo-data.js';
import type { RateLimiter } from '../../src/limits/rate-limiter.js';
import { openRedisRateLimiter, redisAddress } from '../../src/limits/redis-store.js';
import { updateKeyPolicy } from '../../src/policies/store.js';
import { capturedLog, type LogLine } from '../helpers/captured-log.js';
import { expectLedgerInvariant, startTestGateway } from '../helpers/gateway.js';
import { freePort } from '../helpers/loopback.js';
import { type OwnRedis, startOwnRedis, uniqueKeyPrefix } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';
import { ledgerTotals, paidCallBody, taskStates } from '../robustness/support.js';

/**
 * Money never depends on Redis: while it does not answer, every call goes through uncounted, the
 * outage is logged once, and limiting resumes when Redis is back. The Redis stopped here is the
 * test's own, on a port of its own; the machine's is never touched.
 */
const WARN = 40;
const INFO = 30;
const limit = { requests: 3, windowSeconds: 60 };
/** what a Tier 0 call (getAgentProfile) costs */
const TIER0_COST = 1_000n;

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

  it('Redis stopped and started again with paid calls in flight: every call answered and charged once, the ledger whole', async () => {
    const { log, lines } = capturedLog('info');
    const rateLimiter = await openRedisRateLimiter({ url: redis.url, log, keyPrefix: uniqueKeyPrefix() });
    const gateway = await startTestGateway({ rateLimiter });
    try {
      await seedDemoData(gateway.database.db, { now: new Date(), agents: 3, feedbacksPerAgent: 2, validationsPerAgent: 1 });
      const org = await gateway.createOrg({ credits: 1_000_000n });
      // a limit far above the calls made: while Redis answers each call is counted, while it does not none is
      await gateway.database.db.transaction((tx) =>
        updateKeyPolicy(tx, { keyId: org.apiKey.id, patch: { rateLimit: { requests: 1_000, windowSeconds: 60 } }, by: OPERATOR }),
      );
      const paidCall = async () => {
        const response = await gateway.rpc(paidCallBody(1, randomUUID()), org.apiKey.key);
        const body = (await response.json()) as { result?: { task: { status: { state: string } } } };
        // RateLimit (what is left) is sent only when the call was counted
        return { status: response.status, state: body.result?.task.status.state, counted: response.headers.has('ratelimit') };
      };
      const calls = (count: number) => Array.from({ length: count }, paidCall);

      await waitFor(async () => (await rateLimiter.take('probe', limit)).counted, 'Redis answering', 10_000);
      const before = await Promise.all(calls(10));
      // Redis goes away while calls are being answered, and more come while it is away
      const inFlight = Promise.all(calls(20));
      await redis.stop();
      const whileDown = await Promise.all(calls(20));
      expect(outageWarnings(lines).length).toBeGreaterThan(0);
      await redis.start();
      await waitFor(async () => (await rateLimiter.take('probe', limit)).counted, 'limiting to resume', 10_000);
      const after = await Promise.all(calls(10));

      const answers = [...before, ...(await inFlight), ...whileDown, ...after];
      expect(answers).toHaveLength(60);
      // counted while Redis answered (a call the busy test machine let time out is not: it failed open too), none while it was away
      expect([before, whileDown, after].map((some) => some.filter((answer) => answer.counted).length > 0)).toEqual([true, false, true]);
      expect(answers.every((answer) => answer.status === 200 && answer.state === 'TASK_STATE_COMPLETED')).toBe(true);
      expect(await taskStates(gateway.database.db, org.orgId)).toEqual({ completed: 60 });
      expect((await getCreditAccount(gateway.database.db, org.orgId))?.balance).toBe(1_000_000n - 60n * TIER0_COST);
      const charged = (await ledgerTotals(gateway.database.db, org.orgId)).filter((row) => row.amount < 0n);
      // sixty charge rows of one call's price each: none lost, none doubled
      expect(charged.reduce((sum, row) => sum + row.n, 0n)).toBe(60n);
      expect(charged.reduce((sum, row) => sum + row.amount, 0n)).toBe(-60n * TIER0_COST);
      await expectLedgerInvariant(gateway);
    } finally {
      await gateway.close();
      await rateLimiter.close();
    }
  }, 60_000);
});
