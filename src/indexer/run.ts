import type { Logger } from 'pino';
import { createPublicClient, http, type PublicClient } from 'viem';
import type { Config } from '../config.js';
import type { Database } from '../db/client.js';
import { startIndexer } from './indexer.js';
import { startRegistrationFiles } from './registration-files.js';

/**
 * The indexer's own client: block reads for timestamps go out as JSON-RPC batches (a backfill over
 * sparse events reads many blocks), and viem's retries are off so the log reader sees each refusal.
 * Each request has a deadline (`timeoutMs`, 30 s unless told: a wide eth_getLogs is slow), so a
 * provider that never answers fails the pass instead of holding the indexer.
 */
export function indexerClient(rpcUrl: string, options: { timeoutMs?: number } = {}): PublicClient {
  return createPublicClient({
    transport: http(rpcUrl, { batch: { batchSize: 50 }, retryCount: 0, timeout: options.timeoutMs ?? 30_000 }),
  }) as PublicClient;
}

/** How often agents whose registration file is due are looked for. */
const REGISTRATION_INTERVAL_MS = 5_000;

/**
 * Starts the chain indexer and, beside it (so a slow file server never holds the chain cursor), the
 * reader of registration files; the answer stops both.
 */
export function startChainIndexer(db: Database, log: Logger, config: NonNullable<Config['indexer']>): () => Promise<void> {
  const stopChain = startIndexer({ db, client: indexerClient(config.rpcUrl), settings: config.chain, log: log.child({ part: 'indexer' }) });
  const stopFiles = startRegistrationFiles({
    db,
    settings: config.registrationFiles,
    log: log.child({ part: 'registration-files' }),
    intervalMs: REGISTRATION_INTERVAL_MS,
  });
  return async () => {
    await stopChain();
    await stopFiles();
  };
}
