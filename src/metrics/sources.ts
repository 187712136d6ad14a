import type { Database } from '../db/client.js';
import { indexerFreshness } from '../indexer/freshness.js';
import type { RateLimiter } from '../limits/rate-limiter.js';
import { countPushBacklog } from '../push/deliveries.js';
import type { MetricSources } from './registry.js';

/** Where the gateway's gauges read from at a scrape: its pool, the database, the indexer's cursor and the rate limits' store. */
export function gatewayMetricSources(input: { db: Database; indexedChainId?: number; rateLimiter: RateLimiter }): MetricSources {
  const { db, indexedChainId, rateLimiter } = input;
  return {
    pool: () => db.poolUse(),
    pushBacklog: () => countPushBacklog(db),
    ...(indexedChainId === undefined
      ? {}
      : { indexerLagBlocks: async () => (await indexerFreshness(db, indexedChainId))?.lagBlocks ?? undefined }),
    ...(rateLimiter.store.kind === 'redis'
      ? {
          redisUp: async () => {
            const health = await rateLimiter.health();
            return health.store === 'redis' && health.answering;
          },
        }
      : {}),
  };
}
