import { Redis, type Result } from 'ioredis';
import type { Logger } from 'pino';
import { z } from 'zod';
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
  uncountedDecision,
} from './rate-limiter.js';

/**
 * One call's limits, all or none, in one atomic script (ADR 0011). ARGV[1] is the call's weight,
 * the requests it counts; KEYS[i] counts the requests of limit i in its current window, ARGV[2i]
 * is that limit's requests, ARGV[2i+1] its window in ms. The call is refused when any counter lacks
 * room for the whole weight (count + weight > requests), and then no counter moves; otherwise each
 * moves by the weight (INCRBY). A window starts with the first requests counted in it (the INCRBY
 * that creates the counter sets its expiry; later ones leave it) and ends when the key expires.
 * Only Redis's clock is read, so instances whose clocks disagree still share the same windows.
 * Reply: {1 allowed | 0 refused, count1, ms left1, count2, ms left2, …}; ms left is -2 when the
 * counter does not exist (no window started).
 */
const TAKE_ALL_LUA = `
local weight = tonumber(ARGV[1])
local counts, msLeft = {}, {}
local allowed = 1
for i = 1, #KEYS do
  local count = tonumber(redis.call('GET', KEYS[i]) or '0')
  local ttl = redis.call('PTTL', KEYS[i])
  if count > 0 and ttl == -1 then
    -- a counter without expiry would never reset: give it a window
    ttl = tonumber(ARGV[2 * i + 1])
    redis.call('PEXPIRE', KEYS[i], ttl)
  end
  counts[i], msLeft[i] = count, ttl
  if count + weight > tonumber(ARGV[2 * i]) then allowed = 0 end
end
if allowed == 1 then
  for i = 1, #KEYS do
    local created = counts[i] == 0
    counts[i] = redis.call('INCRBY', KEYS[i], weight)
    if created then
      msLeft[i] = tonumber(ARGV[2 * i + 1])
      redis.call('PEXPIRE', KEYS[i], msLeft[i])
    end
  end
end
local reply = { allowed }
for i = 1, #KEYS do
  reply[2 * i] = counts[i]
  reply[2 * i + 1] = msLeft[i]
end
return reply
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** TAKE_ALL_LUA: numKeys, the counters' keys, the weight, then each limit's requests and window in ms */
    takeRateLimits(numKeys: number, ...keysThenLimits: Array<string | number>): Result<unknown, Context>;
  }
}

const takeAllReply = z.array(z.number().int()).min(1);

/** Where the counters live by default: beside whatever else shares the Redis database. */
export const DEFAULT_KEY_PREFIX = 'a2a-paygate:rate:';

export interface RedisRateLimiterOptions {
  /** redis:// or rediss:// (TLS), with credentials and database number if any */
  url: string;
  log: Logger;
  keyPrefix?: string;
  /**
   * How long a command may take before the call goes through unlimited. A Redis on the same network
   * answers in well under a millisecond; the margin is for an event loop that is itself busy.
   */
  commandTimeoutMs?: number;
  /** How long one connection attempt may take (the first one, at start-up, is awaited). */
  connectTimeoutMs?: number;
  /**
   * While Redis does not answer, one call in this long asks it again (the others fail open at
   * once), so a Redis that swallows packets costs one call a command timeout, not every call.
   */
  probeIntervalMs?: number;
}

/** host:port of a Redis URL: what the banner and /readyz show, never its credentials. */
export function redisAddress(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || '6379'}`;
}

/**
 * Counters in Redis, shared by every instance that names the same Redis. Fails open: while Redis
 * does not answer, every call is allowed and not counted; the outage is logged once (warn) and its
 * end once (info). Resolves once the first connection attempt is over, answered or not.
 */
export async function openRedisRateLimiter(options: RedisRateLimiterOptions): Promise<RateLimiter> {
  const address = redisAddress(options.url);
  const log = options.log.child({ redis: address });
  const keyPrefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
  const probeIntervalMs = options.probeIntervalMs ?? 1_000;
  const client = new Redis(options.url, {
    commandTimeout: options.commandTimeoutMs ?? 250,
    connectTimeout: options.connectTimeoutMs ?? 1_000,
    // A command while disconnected fails at once instead of waiting in a queue for a Redis that may not come back.
    enableOfflineQueue: false,
    // A command in flight when the connection drops fails with it; it is never sent again after a reconnection.
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    // Reconnect forever, at most a second apart, so limiting resumes soon after Redis returns.
    retryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
    scripts: { takeRateLimits: { lua: TAKE_ALL_LUA } },
  });
  // ioredis reports every failed reconnection here; the outage itself is logged once, below.
  client.on('error', (error: Error) => log.debug({ err: error }, 'Redis connection error'));

  let answering = true;
  let nextProbeAt = 0;
  let closed = false;
  const failed = (error: unknown) => {
    // after close(), a late call fails open without reporting an outage that is only the shutdown
    if (!answering || closed) return;
    answering = false;
    nextProbeAt = Date.now() + probeIntervalMs;
    log.warn({ err: error }, 'Redis does not answer: rate limits fail open (every call allowed, none counted) until it does');
  };
  const answered = () => {
    if (answering) return;
    answering = true;
    log.info('Redis answers again: rate limits are shared and enforced');
  };

  const limiter: RateLimiter = {
    store: { kind: 'redis', address },
    take: (subject, limit) => takeOne(limiter, subject, limit),
    async takeAll(checks: readonly RateCheck[], options?: TakeOptions) {
      assertLimits(checks);
      const weight = takeWeight(options);
      if (checks.length === 0) return callDecision(checks, [], true, weight);
      if (!answering) {
        if (Date.now() < nextProbeAt) return uncountedDecision(checks);
        nextProbeAt = Date.now() + probeIntervalMs;
      }
      const keys = checks.map((check) => `${keyPrefix}${check.subject}:${check.limit.windowSeconds}`);
      const limits = checks.flatMap((check) => [check.limit.requests, check.limit.windowSeconds * 1000]);
      let reply: number[];
      try {
        reply = takeAllReply.parse(await client.takeRateLimits(keys.length, ...keys, weight, ...limits));
      } catch (error) {
        failed(error);
        return uncountedDecision(checks);
      }
      answered();
      const readings = checks.map((_, index): CounterReading => {
        const msLeft = reply[2 + 2 * index] ?? -2;
        return { count: reply[1 + 2 * index] ?? 0, msLeft: msLeft < 0 ? undefined : msLeft };
      });
      return callDecision(checks, readings, reply[0] === 1, weight);
    },
    async health(): Promise<RateLimitStoreHealth> {
      try {
        await client.ping();
        answered();
      } catch (error) {
        failed(error);
      }
      return { store: 'redis', address, answering };
    },
    async close() {
      closed = true;
      // QUIT lets Redis finish what it was sent; disconnect() then stops any reconnection timer.
      await client.quit().catch(() => {});
      client.disconnect();
    },
  };

  await firstConnection(client, (options.connectTimeoutMs ?? 1_000) + 250);
  if (client.status !== 'ready') failed(new Error(`no connection to Redis at ${address} (${client.status})`));
  return limiter;
}

/** Resolves when the client is ready or `timeoutMs` has passed, whichever comes first. */
function firstConnection(client: Redis, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      client.off('ready', done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    client.once('ready', done);
  });
}
