import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { createMemoryRateLimiter } from './memory-store.js';
import type { RateLimiter } from './rate-limiter.js';
import { openRedisRateLimiter } from './redis-store.js';

/** The limiter the configuration asks for: shared through Redis with REDIS_URL, else in this instance's memory. */
export function openRateLimiter(config: Pick<Config, 'rateLimits'>, log: Logger): Promise<RateLimiter> {
  const { redisUrl } = config.rateLimits;
  return redisUrl ? openRedisRateLimiter({ url: redisUrl, log }) : Promise.resolve(createMemoryRateLimiter());
}
