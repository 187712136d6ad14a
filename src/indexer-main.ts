/**
 * `npm run indexer`: the ERC-8004 indexer alone, for a deployment that runs it apart from the
 * gateways (it takes the same indexer lock, so gateways started with INDEXER=1 beside it wait).
 */
import { ConfigError, loadConfig } from './config.js';
import { DatabaseUnavailableError, openConfiguredDatabase } from './db/configured.js';
import { claimEmbeddedDatabase } from './db/embedded-lock.js';
import { startChainIndexer } from './indexer/run.js';
import { createLogger } from './logger.js';
import { startTracing } from './tracing/start.js';

async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.indexer) {
    console.error(
      'the indexer needs CHAIN_RPC_URL, and IDENTITY_REGISTRY / REPUTATION_REGISTRY on chains without defaults (Base 8453, Base Sepolia 84532)',
    );
    process.exit(2);
  }
  const log = createLogger(config.logLevel, { traceIds: config.traces });
  const stopTracing = await startTracing(config.traces, log, config.shutdownGraceMs);
  const releaseEmbedded = config.databaseUrl ? undefined : await claimEmbeddedDatabase(config.dataDir);
  const db = await openConfiguredDatabase(config, 4);
  const stop = startChainIndexer(db, log, config.indexer);
  log.info({ chainId: config.indexer.chain.chainId, registries: config.indexer.chain.registries }, 'indexer started');
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      if (stopping) return;
      stopping = true;
      void (async () => {
        await stop();
        await db.close();
        await releaseEmbedded?.();
        await stopTracing();
        process.exit(0);
      })();
    });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError || error instanceof DatabaseUnavailableError ? error.message : error);
  process.exit(error instanceof ConfigError ? 2 : 1);
});
