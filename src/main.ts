import { setTimeout as delay } from 'node:timers/promises';
import { startPushDispatcher } from './a2a/push-delivery.js';
import { createApp } from './app.js';
import { type DemoOrganization, ensureDemoOrganization } from './auth/demo-org.js';
import { openWalletAuth } from './auth/wallet-auth.js';
import { getCreditAccount } from './billing/accounts.js';
import { signalLowBalances } from './billing/low-balance.js';
import { rollUpUsage } from './billing/usage-rollup.js';
import { openLiveCatalog } from './catalog/live-catalog.js';
import { chainClient } from './chain/client.js';
import { startTopUpWatcher } from './chain/topup-watcher.js';
import { type Config, ConfigError, loadConfig } from './config.js';
import { DatabaseUnavailableError, openConfiguredDatabase, replicaProblem } from './db/configured.js';
import { seedDemoData } from './db/demo-data.js';
import { claimEmbeddedDatabase } from './db/embedded-lock.js';
import { UNOBSERVED } from './domain/observer.js';
import { InFlightRequests } from './http/in-flight.js';
import { ListenError, listen } from './http/listener.js';
import { metricsRoute } from './http/metrics.js';
import { startChainIndexer } from './indexer/run.js';
import { openRateLimiter } from './limits/open.js';
import { createLogger } from './logger.js';
import { createGatewayMetrics } from './metrics/registry.js';
import { gatewayMetricSources } from './metrics/sources.js';
import { repeat } from './repeat.js';
import { startBanner } from './start-banner.js';
import { createChargeCombiner } from './tasks/charge-combiner.js';
import { createLeases } from './tasks/leases.js';
import { startRecoveryLoop } from './tasks/recovery.js';
import { startTaskWorker } from './tasks/worker.js';
import { chatCompletions } from './tools/llm.js';
import { createToolRegistry } from './tools/registry.js';
import { startTracing } from './tracing/start.js';
import { startX402Upkeep } from './x402/reconcile.js';

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

/** Closed days are rolled up within this long; usage reads are exact either way (see usage.ts). */
const USAGE_ROLLUP_INTERVAL_MS = 5 * 60_000;
/** How long the start waits for the tool catalog's first read (its LISTEN in place) before it serves anyway. */
const CATALOG_READY_MS = 10_000;

async function main(): Promise<void> {
  const config = readConfigOrExit();
  const log = createLogger(config.logLevel, { traceIds: config.traces });
  // The port first: a port in use must stop the start before anything is written.
  const listener = await listen({ port: config.port, host: config.host, log });
  // Before anything that makes spans: the app's request spans are chosen when it is created.
  const stopTracing = await startTracing(config.traces, log, config.shutdownGraceMs);
  const releaseEmbedded = config.databaseUrl ? undefined : await claimEmbeddedDatabase(config.dataDir);
  const db = await openConfiguredDatabase(config, config.dbPoolSize);
  // Not awaited: a replica that does not answer fails only the reads sent to it, so the start says
  // so and goes on (a black-holed host would hold it for the whole connect timeout).
  void replicaProblem(db, config).then((problem) => problem && log.warn(problem));

  const demoKeyFile = `${config.dataDir}.demo-key`;
  let demo: DemoOrganization | undefined;
  if (config.demo) {
    const seeded = await seedDemoData(db, { now: new Date() });
    if (seeded.agents > 0) log.info(seeded, 'demo data loaded');
    demo = await ensureDemoOrganization(db, { credits: config.demoCredits, keyFile: demoKeyFile });
  }

  const rateLimiter = await openRateLimiter(config, log);
  const metrics = config.metrics.enabled
    ? createGatewayMetrics({
        processMetrics: true,
        sources: gatewayMetricSources({ db, indexedChainId: config.indexer?.chain.chainId, rateLimiter }),
      })
    : undefined;
  const observe = metrics ?? UNOBSERVED;
  const stopRecovery = startRecoveryLoop(db, log, config.recoveryIntervalMs);
  // x402 claims whose transfer may have landed unbooked: the token says, and the payer is credited (docs/adr/0023)
  const stopReconciliation = config.x402
    ? startX402Upkeep(db, config.x402.rpcUrl ? chainClient(config.x402.rpcUrl) : undefined, log, config.recoveryIntervalMs)
    : async () => {};
  const inFlight = new InFlightRequests();
  const walletAuth = await openWalletAuth(db, config);
  const topUpReader = config.topUps && { client: chainClient(config.topUps.rpcUrl), chain: config.topUps.chain };
  const stopWatcher =
    config.topUps && topUpReader
      ? startTopUpWatcher({
          db,
          log,
          observe,
          ...topUpReader,
          intervalMs: config.topUps.watchIntervalMs,
          startBlock: config.topUps.startBlock,
        })
      : async () => {};
  const catalog = openLiveCatalog(db, log, { secretsKey: config.secretsKey, allowPrivateNetworks: config.catalog.allowPrivateNetworks });
  const tools = createToolRegistry({
    llm: config.llm && { complete: chatCompletions(config.llm), timeoutMs: config.llm.timeoutMs },
    catalog,
  });
  // The first calls find their catalog tools: the catalog is read before the port takes requests
  // (or, should its LISTEN not be in place within CATALOG_READY_MS, as soon as it is).
  const catalogRead = await Promise.race([catalog.ready().then(() => true), delay(CATALOG_READY_MS).then(() => false)]);
  if (!catalogRead) log.warn({ waitedMs: CATALOG_READY_MS }, 'the tool catalog is not read yet; its tools are unknown until it is');
  const leases = createLeases({ db, log, leaseMs: config.taskLeaseMs });
  const stopPush = startPushDispatcher({ db, log, observe, ...config.push });
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
      observe,
      clock: () => new Date(),
      settlement: config.settlement,
      platformFeeBps: config.catalog.platformFeeBps,
      toolTimeoutMs: config.toolTimeoutMs,
      taskDeadlineSlackMs: config.taskDeadlineSlackMs,
    },
    config.taskWorker,
  );
  // A port of its own for /metrics keeps it off the public port (operators scrape it from inside).
  const metricsListener =
    metrics === undefined || config.metrics.port === undefined
      ? undefined
      : await listen({ port: config.metrics.port, host: config.host, log });
  if (metrics) metricsListener?.serve(metricsRoute(metrics, config.metrics.token));
  const app = createApp({
    db,
    log,
    config,
    metrics: metrics ?? 'off',
    metricsExposition: { token: config.metrics.token, onThisPort: metricsListener === undefined },
    walletAuth,
    topUpReader,
    tools,
    leases,
    inFlight,
    rateLimiter,
    indexedChainId: config.indexer?.chain.chainId,
  });
  listener.serve(app);
  const server = listener.server;
  const baseUrl = config.publicUrl?.replace(/\/$/, '') ?? `http://${config.host}:${listener.port}`;
  log.info({ url: baseUrl, database: db.kind, demo: config.demo, rateLimits: rateLimiter.store }, 'listening');

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'draining in-flight requests');
    const force = setTimeout(() => server.closeAllConnections(), config.shutdownGraceMs);
    force.unref();
    metricsListener?.server.close();
    server.close(async () => {
      clearTimeout(force);
      if (!(await inFlight.idle(config.shutdownGraceMs))) log.warn('handlers still running at shutdown');
      await stopWorker();
      await stopPush();
      await stopLowBalance();
      await stopRollup();
      await stopIndexer();
      if (!(await leases.idle(config.shutdownGraceMs)))
        log.warn('held tasks still running at shutdown; another instance takes them over when their leases lapse');
      await stopRecovery();
      await stopReconciliation();
      await stopWatcher();
      await rateLimiter.close();
      await db.close();
      await releaseEmbedded?.();
      await stopTracing();
      log.info('stopped');
      process.exit(0);
    });
    server.closeIdleConnections();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  // Last: whoever reads the banner may stop the gateway at once, so the signals are handled by now.
  const demoAccount = demo && (await getCreditAccount(db, demo.orgId));
  console.error(
    startBanner(
      baseUrl,
      demo && { ...demo, available: demoAccount?.available ?? 0n, keyFile: demoKeyFile },
      rateLimiter.store,
      config.x402,
    ),
  );
}

main().catch((error: unknown) => {
  // What the operator can fix is said in one line; anything else keeps its message (never a stack).
  const operatorCanFix = error instanceof ListenError || error instanceof DatabaseUnavailableError;
  const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
  console.error(`a2a-paygate ${operatorCanFix ? 'cannot start' : 'failed to start'}: ${message}`);
  process.exit(1);
});
