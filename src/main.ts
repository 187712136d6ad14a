import { randomUUID } from 'node:crypto';
import { serve } from '@hono/node-server';
import type { Server } from 'node:http';
import { createApp } from './app.js';
import { InFlightRequests } from './http/in-flight.js';
import { getCreditAccount } from './billing/accounts.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { openWalletAuth } from './auth/wallet-auth.js';
import { chainClient } from './chain/client.js';
import { startTopUpWatcher } from './chain/topup-watcher.js';
import { chatCompletions } from './tools/llm.js';
import { createToolRegistry } from './tools/registry.js';
import { createChargeCombiner } from './tasks/charge-combiner.js';
import { createLeases } from './tasks/leases.js';
import { startTaskWorker } from './tasks/worker.js';
import { startPushDispatcher } from './push/dispatcher.js';
import { signalLowBalances } from './billing/low-balance.js';
import { rollUpUsage } from './billing/usage-rollup.js';
import { startChainIndexer } from './indexer/run.js';
import { repeat } from './repeat.js';
import { openDatabase } from './db/client.js';
import { seedDemoData } from './db/demo-data.js';
import { ensureDemoOrganization, type DemoOrganization } from './db/demo-org.js';
import { claimEmbeddedDatabase } from './db/embedded-lock.js';
import { createLogger } from './logger.js';
import { startRecoveryLoop } from './tasks/recovery.js';
import { displayUsdc } from './tools/money.js';

function readConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
}

function demoBanner(baseUrl: string, demo: DemoOrganization, available: bigint): string {
  const body = JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'SendMessage',
    params: {
      message: {
        messageId: randomUUID(),
        role: 'ROLE_USER',
        parts: [{ data: { tool: 'getReputationSummary', arguments: { agentId: 1 } } }],
      },
    },
  });
  return [
    '',
    `a2a-paygate is up at ${baseUrl}  (agent card: ${baseUrl}/.well-known/agent-card.json)`,
    `Demo organization ${demo.orgId}: ${displayUsdc(available)} available`,
    'Try a paid call (0.01 USDC; resending the same messageId is not charged twice):',
    '',
    `curl -s ${baseUrl}/a2a -H 'Authorization: Bearer ${demo.apiKey}' -H 'Content-Type: application/json' -d '${body}'`,
    '',
  ].join('\n');
}

/** Closed days are rolled up within this long; usage reads are exact either way (see usage.ts). */
const USAGE_ROLLUP_INTERVAL_MS = 5 * 60_000;

async function main(): Promise<void> {
  const config = readConfigOrExit();
  const log = createLogger(config.logLevel);
  const releaseEmbedded = config.databaseUrl ? undefined : await claimEmbeddedDatabase(config.dataDir);
  const db = await openDatabase(
    config.databaseUrl ? { url: config.databaseUrl, poolSize: config.dbPoolSize } : { dataDir: config.dataDir },
  );
  await db.migrate();

  let demo: DemoOrganization | undefined;
  if (config.demo) {
    const seeded = await seedDemoData(db, { now: new Date() });
    if (seeded.agents > 0) log.info(seeded, 'demo data loaded');
    demo = await ensureDemoOrganization(db, { credits: config.demoCredits, keyFile: `${config.dataDir}.demo-key` });
  }

  const stopRecovery = startRecoveryLoop(db, log, config.recoveryIntervalMs);
  const inFlight = new InFlightRequests();
  const walletAuth = await openWalletAuth(db, config);
  const topUpReader = config.topUps && { client: chainClient(config.topUps.rpcUrl), chain: config.topUps.chain };
  const stopWatcher =
    config.topUps && topUpReader
      ? startTopUpWatcher({ db, log, ...topUpReader, intervalMs: config.topUps.watchIntervalMs, startBlock: config.topUps.startBlock })
      : async () => {};
  const tools = createToolRegistry({ llm: config.llm && { complete: chatCompletions(config.llm), timeoutMs: config.llm.timeoutMs } });
  const leases = createLeases({ db, log, leaseMs: config.taskLeaseMs });
  const stopPush = startPushDispatcher({ db, log, ...config.push });
  const stopLowBalance = repeat(() => signalLowBalances({ db, log, allowPrivateNetworks: config.push.allowPrivateNetworks }), {
    intervalMs: config.push.intervalMs,
    onError: (error) => log.warn({ err: error }, 'low-balance pass failed'),
  });
  const stopIndexer = config.indexer?.inProcess ? startChainIndexer(db, log, config.indexer) : async () => {};
  const stopRollup = repeat(
    async () => {
      const pass = await rollUpUsage(db);
      if (pass.days || pass.folded) log.info(pass, 'usage rolled up');
    },
    { intervalMs: USAGE_ROLLUP_INTERVAL_MS, onError: (error) => log.warn({ err: error }, 'usage rollup pass failed') },
  );
  const stopWorker = startTaskWorker(
    {
      db,
      log,
      tools,
      leases,
      charges: createChargeCombiner(db),
      settlement: config.settlement,
      toolTimeoutMs: config.toolTimeoutMs,
      taskDeadlineSlackMs: config.taskDeadlineSlackMs,
    },
    config.taskWorker,
  );
  const app = createApp({ db, log, config, walletAuth, topUpReader, tools, leases, inFlight, indexedChainId: config.indexer?.chain.chainId });
  const server = serve({ fetch: app.fetch, port: config.port, hostname: config.host }) as Server;
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const baseUrl = config.publicUrl ?? `http://${config.host}:${port}`;
  log.info({ url: baseUrl, database: db.kind, demo: config.demo }, 'listening');
  if (demo) {
    const account = await getCreditAccount(db, demo.orgId);
    console.log(demoBanner(baseUrl, demo, account?.available ?? 0n));
  }

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'draining in-flight requests');
    const force = setTimeout(() => server.closeAllConnections(), config.shutdownGraceMs);
    force.unref();
    server.close(async () => {
      clearTimeout(force);
      if (!(await inFlight.idle(config.shutdownGraceMs))) log.warn('handlers still running at shutdown');
      await stopWorker();
      await stopPush();
      await stopLowBalance();
      await stopRollup();
      await stopIndexer();
      if (!(await leases.idle(config.shutdownGraceMs))) log.warn('held tasks still running at shutdown; another instance takes them over when their leases lapse');
      await stopRecovery();
      await stopWatcher();
      await db.close();
      await releaseEmbedded?.();
      log.info('stopped');
      process.exit(0);
    });
    server.closeIdleConnections();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  console.error('a2a-paygate failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
