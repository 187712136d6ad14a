/**
 * `npm run bench` (or `bench:smoke`): seeds a fresh PostgreSQL database, starts the gateway as a
 * child process, drives the load scenarios over HTTP, checks the money invariant and the charged
 * counter and writes bench/results/<timestamp>.json and latest.json. Exits 1 when a step fails,
 * money does not add up or the charged counter differs from the ledger.
 */

import { mkdirSync } from 'node:fs';
import { createBenchDatabase } from './bench-database.js';
import { messageIds } from './calls.js';
import { type CatalogBenchResult, measureCatalogReads, seedBenchCatalog } from './catalog.js';
import { startBenchUpstream } from './catalog-upstream.js';
import { chargeLedgerTotal, checkChargedCounter, formatChargedCounter, settledChargeLedgerTotal } from './charged-counter.js';
import { FLOOR_OF, type FloorResult, prepareFloor, requirePgbench, runFloor } from './floor.js';
import type { FloorShape } from './floor-script.js';
import { buildGateway, type Gateway, startGateway } from './gateway.js';
import { benchIndexerBackfill, formatIndexerBench } from './indexer.js';
import { describeMachine } from './machine.js';
import { checkMoney } from './money.js';
import { parseBenchOptions } from './options.js';
import { formatProfileSummary, summariseProfiles } from './profile-summary.js';
import { type BenchResults, compareWithFloor, formatTable, resultsDir, writeResults } from './report.js';
import { runScenario, type ScenarioResult } from './scenario-run.js';
import { REST_TOOL, type Scenario, scenarios } from './scenarios.js';
import { seedBenchData } from './seed.js';
import { measureUsageReads, seedUsageHistory, type UsageBenchResult } from './usage.js';
import {
  checkX402Money,
  formatX402Money,
  PAYERS,
  paymentPoolSize,
  paymentRequirementsOf,
  signPaymentPool,
  startX402Chain,
  type X402BenchResult,
  x402CallsEnded,
} from './x402.js';

/** The `--only` name of the usage reads over one organization's long history. */
const USAGE = 'usage';
/** The `--only` name of the discovery reads at 10,000 catalog tools. */
const CATALOG = 'catalog';
/** The `--only` name of the indexer's backfill. */
const INDEXER = 'indexer';

const say = (line: string) => console.error(`[bench] ${line}`);

/** Undo steps, run last-first on success, failure or interruption. */
const cleanups: (() => Promise<void>)[] = [];

async function cleanUp(): Promise<void> {
  for (let undo = cleanups.pop(); undo; undo = cleanups.pop()) {
    await undo().catch((error: unknown) => say(`clean-up step failed: ${String(error)}`));
  }
}

function redacted(url: string): string {
  const parsed = new URL(url);
  parsed.password = parsed.password ? '***' : '';
  return parsed.toString();
}

async function bench(): Promise<boolean> {
  const options = parseBenchOptions(process.argv.slice(2), process.env);
  const startedAt = new Date();
  const unknown = options.only.filter(
    (name) => name !== USAGE && name !== CATALOG && name !== INDEXER && !scenarios.some((scenario) => scenario.name === name),
  );
  if (unknown.length)
    throw new Error(
      `--only: no scenario ${unknown.join(', ')}; there are ${[...scenarios.map((s) => s.name), USAGE, CATALOG, INDEXER].join(', ')}`,
    );
  const chosen = options.only.length
    ? scenarios.filter((scenario) => options.only.includes(scenario.name))
    : scenarios.filter((scenario) => options.mode === 'full' || scenario.smoke !== false);
  const measureUsage = !options.only.length || options.only.includes(USAGE);
  const measureCatalog = !options.only.length || options.only.includes(CATALOG);
  const measureIndexer = !options.only.length || options.only.includes(INDEXER);
  // A floor runs with the scenario it is the floor of, and with a scenario paced at a multiple of it.
  const floorShapes = (Object.keys(FLOOR_OF) as FloorShape[]).filter((shape) =>
    chosen.some((scenario) => scenario.name === FLOOR_OF[shape] || scenario.pacedAt?.floor === shape),
  );
  say(`${options.mode} run: ${options.durationS} s per scenario, ${options.warmupS} s warm-up; server ${redacted(options.serverUrl)}`);
  // Before anything is seeded: a machine without pgbench fails the run at once, and says why.
  if (floorShapes.length) say(`floor: ${requirePgbench()}`);

  const database = await createBenchDatabase(options.serverUrl);
  cleanups.push(() => database.drop());
  say(`seeding ${database.name}: ${options.dataset.agents} agents × ${options.dataset.feedbacksPerAgent} feedbacks …`);
  const seeded = await seedBenchData(database.url, options.dataset, startedAt);
  say(`seeded in ${seeded.seedSeconds.toFixed(1)} s: ${JSON.stringify(seeded.counts)}`);

  // Before the gateway starts: its rollup pass at start-up would otherwise race the bulk insert.
  const usageHistory = measureUsage ? await seedUsageHistory(database.url, options.usageHistory, startedAt) : undefined;
  if (usageHistory) {
    say(
      `${USAGE}: ${options.usageHistory.tasks} tasks of one organization over ${options.usageHistory.days} days in ${usageHistory.seedSeconds.toFixed(1)} s, ` +
        `rolled up in ${usageHistory.rollupSeconds.toFixed(1)} s`,
    );
  }

  // Before the gateway starts: its live catalog reads the whole catalog at start, as a gateway
  // serving 10,000 tools does, and the scenarios' calls then run beside it.
  const catalogSeed = measureCatalog
    ? { tools: options.catalogTools, ...(await seedBenchCatalog(database.url, options.catalogTools)) }
    : undefined;
  if (catalogSeed) say(`${CATALOG}: ${catalogSeed.tools} catalog tools in ${catalogSeed.seedSeconds.toFixed(1)} s`);

  // Before the gateway starts, so nothing else touches the database while it runs and a paced
  // scenario knows its rate. Its reserve and capture rows balance; its captures are no gateway's
  // charges, so the charged-counter check leaves out what the ledger held before the gateway started.
  const floorRuns: FloorResult[] = [];
  if (floorShapes.length) await prepareFloor(database.url, seeded.organizations);
  for (const shape of floorShapes) {
    say(`floor ${shape}: pgbench, a naive paid call (${FLOOR_OF[shape]}'s organizations)`);
    const run = await runFloor(shape, {
      url: database.url,
      database: database.name,
      agents: options.dataset.agents,
      organizations: seeded.organizations.length,
      warmupS: options.warmupS,
      durationS: options.durationS,
    });
    say(`  ${run.callsPerS} calls/s, p99 ${run.latencyMs.p99} ms`);
    floorRuns.push(run);
  }
  const chargedBeforeGateway = await chargeLedgerTotal(database.url);
  /**
   * requests/s for a paced scenario: its multiple of its floor's calls/s, rounded up to whole
   * requests per connection (autocannon paces each connection at its share)
   */
  const rateOf = (scenario: Scenario): number | undefined => {
    if (!scenario.pacedAt) return undefined;
    const { floor, multiple } = scenario.pacedAt;
    const callsPerS = floorRuns.find((run) => run.shape === floor)?.callsPerS;
    if (!callsPerS) throw new Error(`${scenario.name} is paced at the ${floor} floor, which measured no calls`);
    const perConnection = Math.ceil((multiple * callsPerS) / scenario.callsPerRequest / scenario.connections);
    return perConnection * scenario.connections;
  };

  mkdirSync(resultsDir, { recursive: true });
  // one directory per run, so the summary reads this run's profiles only
  const profileDir = options.profile ? `${resultsDir}profiles/${startedAt.toISOString().replaceAll(':', '-')}` : undefined;
  buildGateway();
  const upstream = chosen.some((scenario) => scenario.catalog) ? await startBenchUpstream(database.url) : undefined;
  if (upstream) cleanups.push(() => upstream.close());
  // Before the gateways start: the chain an x402 scenario pays on, its token, settler and payers.
  const x402Chain = chosen.some((scenario) => scenario.gateway === 'x402') ? await startX402Chain(PAYERS) : undefined;
  if (x402Chain) {
    cleanups.push(() => x402Chain.stop());
    say(`x402: anvil at ${x402Chain.rpcUrl}, TestUsdc ${x402Chain.token.address}, ${x402Chain.payers.length} payer wallets funded`);
  }
  const gateway = await startGateway({
    databaseUrl: database.url,
    logFile: `${resultsDir}gateway.log`,
    profileDir,
    ...(upstream ? { env: upstream.gatewayEnv } : {}),
  });
  cleanups.push(() => gateway.stop());
  say(`gateway ready at ${gateway.baseUrl} (serving pid ${gateway.servingPid})`);
  /** charges the metrics-off gateway wrote: not the run's own gateway's, so not in its counter */
  let metricsOffCharged = 0n;
  /** charges the x402 gateway wrote: held against its own counter, left out of the run's own */
  let x402Charged = 0n;
  let x402: X402BenchResult | undefined;
  /**
   * Runs `scenario` against the gateway it names: the run's own, or a metrics-off one started for
   * it alone (profiled like the other, so a profile weighs on both sides of the comparison) and
   * stopped after, its in-flight calls drained; the ledger's charges between the run's own
   * gateway settling and that one's exit are all the metrics-off gateway's.
   */
  const targetOf = async (
    scenario: Scenario,
  ): Promise<{ target: Gateway; done: () => Promise<void>; nextPayment?: () => string | undefined }> => {
    if (scenario.gateway === 'x402') return x402Target(scenario);
    if (scenario.gateway !== 'metrics-off') return { target: gateway, done: async () => {} };
    const before = await settledChargeLedgerTotal(database.url);
    const off = await startGateway({
      databaseUrl: database.url,
      logFile: `${resultsDir}gateway-metrics-off.log`,
      profileDir,
      env: { METRICS: 'off' },
    });
    cleanups.push(() => off.stop());
    // A gateway counting anyway would make the comparison measure nothing: METRICS=off serves no /metrics.
    const exposed = await fetch(`${off.baseUrl}/metrics`);
    await exposed.body?.cancel();
    if (exposed.status !== 404) throw new Error(`the METRICS=off gateway answers GET /metrics with ${exposed.status}, not 404`);
    say(`  metrics-off gateway ready at ${off.baseUrl} (serving pid ${off.servingPid})`);
    return {
      target: off,
      done: async () => {
        await off.stop();
        metricsOffCharged += (await chargeLedgerTotal(database.url)) - before;
      },
    };
  };
  /**
   * An x402 scenario's gateway: a second process with the chain's X402 env (it also takes top-ups
   * and watches the chain for them, which the run's own gateway must not), asked once what a call
   * costs (the 402), with a pool of payments signed before the load. When the load stops its calls
   * in flight are let settle, its charged counter is held against the charges it wrote, it stops,
   * and the treasury's on-chain gain is held against the ledger's x402 rows.
   */
  const x402Target = async (scenario: Scenario) => {
    if (!x402Chain) throw new Error(`${scenario.name} needs the x402 chain`);
    const before = await settledChargeLedgerTotal(database.url);
    const treasuryBefore = await x402Chain.treasuryBalance();
    const blocksBefore = await x402Chain.blocks();
    const paying = await startGateway({
      databaseUrl: database.url,
      logFile: `${resultsDir}gateway-x402.log`,
      profileDir,
      env: x402Chain.gatewayEnv,
    });
    cleanups.push(() => paying.stop());
    say(`  x402 gateway ready at ${paying.baseUrl} (serving pid ${paying.servingPid})`);
    const requirements = await paymentRequirementsOf(paying.baseUrl, REST_TOOL, { agentId: 1 });
    const size = paymentPoolSize(options.warmupS + options.durationS);
    const signing = performance.now();
    const pool = await signPaymentPool(x402Chain, requirements, size);
    say(`  ${size} payments of ${requirements.amount} micro-USDC signed in ${((performance.now() - signing) / 1000).toFixed(1)} s`);
    return {
      target: paying,
      nextPayment: pool.next,
      done: async () => {
        // the 402 asked before the load, and every request that took a payment
        const answered = await x402CallsEnded(paying.baseUrl, pool.used() + 1);
        const charged = (await settledChargeLedgerTotal(database.url)) - before;
        const counter = await checkChargedCounter(paying.baseUrl, { ledgerMicroUsdc: charged, metricsOffLedgerMicroUsdc: 0n });
        await paying.stop();
        const after = await chargeLedgerTotal(database.url);
        x402Charged += after - before;
        const money = await checkX402Money(database.url, (await x402Chain.treasuryBalance()) - treasuryBefore);
        x402 = {
          scenario: scenario.name,
          paymentsSigned: pool.signed,
          paymentsSent: pool.used(),
          poolSpent: pool.used() >= pool.signed,
          blocksMined: (await x402Chain.blocks()) - blocksBefore,
          callsAnsweredWhenRead: answered,
          chargedCounter: {
            ...counter,
            ...(after - before !== charged && counter.ok
              ? { ok: false, problem: `the x402 gateway charged ${after - before - charged} micro-USDC more after its counter was read` }
              : {}),
          },
          money,
        };
        say(`  ${formatX402Money(money)}`);
      },
    };
  };

  const input = {
    agents: options.dataset.agents,
    organizations: seeded.organizations,
    nextMessageId: messageIds(`bench-${startedAt.getTime().toString(36)}`),
  };
  const results: ScenarioResult[] = [];
  for (const scenario of chosen) {
    const overallRate = rateOf(scenario);
    say(
      `${scenario.name}: ${scenario.description}, ${scenario.connections} connections${overallRate ? `, ${overallRate} requests/s` : ''}`,
    );
    const { target, done, nextPayment } = await targetOf(scenario);
    const result = await runScenario(
      scenario,
      {
        baseUrl: target.baseUrl,
        gatewayPid: target.servingPid,
        database: database.name,
        durationS: options.durationS,
        warmupS: options.warmupS,
        ...(overallRate ? { overallRate } : {}),
      },
      nextPayment ? { ...input, nextPayment } : input,
    ).finally(done);
    say(`  ${result.paidCallsPerS} paid calls/s, p99 ${result.latencyMs.p99} ms, ${result.errors.total} errors`);
    results.push(result);
  }
  // Calls a stopped load leaves in flight still charge as they end (instant calls have no working
  // task to wait for): the checks read the ledger once they have.
  const runCharged = await settledChargeLedgerTotal(database.url);
  const money = await checkMoney(database.url);
  let usage: UsageBenchResult | undefined;
  if (usageHistory) {
    const reads = await measureUsageReads(gateway.baseUrl, usageHistory.org, options.usageReads, new Date());
    usage = {
      ...options.usageHistory,
      seedSeconds: usageHistory.seedSeconds,
      rollupSeconds: usageHistory.rollupSeconds,
      rolledDays: usageHistory.rolledDays,
      reads,
    };
  }
  const catalog: CatalogBenchResult | undefined = catalogSeed
    ? await measureCatalogReads(gateway.baseUrl, catalogSeed, options.catalogReads)
    : undefined;
  const chargedCounter = await checkChargedCounter(gateway.baseUrl, {
    ledgerMicroUsdc: runCharged - chargedBeforeGateway - metricsOffCharged - x402Charged,
    metricsOffLedgerMicroUsdc: metricsOffCharged,
    x402LedgerMicroUsdc: x402Charged,
  });
  await gateway.stop();
  await x402Chain?.stop();
  const indexer = measureIndexer ? await benchIndexerBackfill(options.serverUrl, options.indexerEvents, say) : undefined;
  if (indexer) say(formatIndexerBench(indexer));
  if (profileDir) {
    say(`gateway CPU profiles in ${profileDir} (open them in Chrome DevTools or speedscope)`);
    const [busiest] = summariseProfiles(profileDir);
    if (busiest) say(formatProfileSummary(busiest));
  }

  const report: BenchResults = {
    startedAt: startedAt.toISOString(),
    mode: options.mode,
    durationS: options.durationS,
    warmupS: options.warmupS,
    machine: describeMachine(database.serverVersion),
    dataset: seeded.counts,
    seedSeconds: Math.round(seeded.seedSeconds * 10) / 10,
    scenarios: results,
    money,
    chargedCounter,
    // VmHWM only grows, so the last reading of the run's own gateway is its peak over the whole run.
    peakRssMb: Math.max(0, ...results.filter((result) => !result.gateway).map((result) => result.peakRssMb)),
    ...(floorRuns.length ? { floor: compareWithFloor(results, floorRuns) } : {}),
    ...(usage ? { usage } : {}),
    ...(catalog ? { catalog } : {}),
    ...(indexer ? { indexer } : {}),
    ...(x402 ? { x402 } : {}),
  };
  const path = writeResults(report);
  console.log(formatTable(report));
  say(`results: ${path}`);
  if (!money.ok) say(`money invariant broken on ${money.violations.length} accounts: ${JSON.stringify(money.violations.slice(0, 5))}`);
  if (!chargedCounter.ok) say(formatChargedCounter(chargedCounter));
  const x402Ok = !x402 || (x402.money.ok && x402.chargedCounter.ok);
  return money.ok && chargedCounter.ok && x402Ok;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    say(`${signal}: cleaning up`);
    void cleanUp().finally(() => process.exit(130));
  });
}

bench()
  .then(
    (ok) => (ok ? 0 : 1),
    (error: unknown) => {
      say(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      return 1;
    },
  )
  .then(async (code) => {
    await cleanUp();
    process.exit(code);
  });
