import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { DemoDataCounts } from '../src/db/demo-data.js';
import { type CatalogBenchResult, formatCatalogBench } from './catalog.js';
import { type ChargedCounterReport, formatChargedCounter } from './charged-counter.js';
import { ALSO_COMPARED, FLOOR_CLIENTS, FLOOR_TARGETS, type FloorResult } from './floor.js';
import { formatIndexerBench, type IndexerBenchResult } from './indexer.js';
import type { Machine } from './machine.js';
import type { MoneyReport } from './money.js';
import type { ScenarioResult } from './scenario-run.js';
import { formatUsageBench, type UsageBenchResult } from './usage.js';
import { formatX402Money, type X402BenchResult } from './x402.js';

export interface BenchResults {
  startedAt: string;
  mode: 'full' | 'smoke';
  durationS: number;
  warmupS: number;
  machine: Machine;
  dataset: DemoDataCounts & { organizations: number };
  seedSeconds: number;
  scenarios: ScenarioResult[];
  money: MoneyReport;
  /** the run's own gateway's paygate_charged_micro_usdc_total against the charge and capture rows it wrote */
  chargedCounter: ChargedCounterReport;
  /** the run's own gateway's peak RSS over the whole run, MB (the metrics-off gateway's is in its scenario) */
  peakRssMb: number;
  /** the floor (issue 18) and the gateway's calls/s as a multiple of it; absent when --only left out both its scenarios */
  floor?: FloorReport;
  /** usage reads over one organization's long history; absent when --only left them out */
  usage?: UsageBenchResult;
  /** discovery (search, OpenAI definitions, the card) at 10,000 catalog tools; absent when --only left it out */
  catalog?: CatalogBenchResult;
  /** the ERC-8004 indexer's backfill; absent when --only left it out */
  indexer?: IndexerBenchResult;
  /** the x402 scenario's payments, its gateway's counter and the money on-chain against the ledger; absent without it */
  x402?: X402BenchResult;
}

export interface FloorComparison {
  scenario: string;
  gatewayCallsPerS: number;
  floorCallsPerS: number;
  /** gateway / floor paid calls/s */
  ratio: number;
  /** the requests/s a paced scenario was sent at: its ratio cannot exceed what it was asked for */
  pacedAtPerS?: number;
  gatewayP99Ms: number;
  gatewayCpuPerCallMs: number | null;
  postgresCpuPerCallMs: number | null;
  floorPostgresCpuPerCallMs: number | null;
}

export interface FloorReport {
  runs: FloorResult[];
  /** each floor against its scenario of the same run, when both ran */
  comparisons: FloorComparison[];
}

/** The floor runs next to the scenarios they are the floor of. */
export function compareWithFloor(scenarios: ScenarioResult[], runs: FloorResult[]): FloorReport {
  const comparisons = runs.flatMap((floor): FloorComparison[] => {
    const compared = scenarios.filter((s) => s.name === floor.scenario || ALSO_COMPARED[s.name] === floor.shape);
    if (floor.callsPerS === 0) return [];
    return compared.map((gateway) => ({
      scenario: gateway.name,
      gatewayCallsPerS: gateway.paidCallsPerS,
      floorCallsPerS: floor.callsPerS,
      ratio: Math.round((gateway.paidCallsPerS / floor.callsPerS) * 100) / 100,
      ...(gateway.pacedAtPerS ? { pacedAtPerS: gateway.pacedAtPerS } : {}),
      gatewayP99Ms: gateway.latencyMs.p99,
      gatewayCpuPerCallMs: gateway.cpuPerPaidCallMs.gateway,
      postgresCpuPerCallMs: gateway.cpuPerPaidCallMs.postgres,
      floorPostgresCpuPerCallMs: floor.postgresCpuPerCallMs,
    }));
  });
  return { runs, comparisons };
}

export const resultsDir = fileURLToPath(new URL('./results/', import.meta.url));

/** Writes results/<timestamp>.json and results/latest.json; returns the first path. */
export function writeResults(results: BenchResults): string {
  mkdirSync(resultsDir, { recursive: true });
  const json = `${JSON.stringify(results, (_, value: unknown) => (typeof value === 'bigint' ? value.toString() : value), 2)}\n`;
  const path = `${resultsDir}${results.startedAt.replace(/[:.]/g, '-')}.json`;
  writeFileSync(path, json);
  writeFileSync(`${resultsDir}latest.json`, json);
  return path;
}

export function machineLine(machine: Machine): string {
  const gib = (machine.memoryBytes / 2 ** 30).toFixed(1);
  return `machine: ${machine.cpuCount} × ${machine.cpuModel}, ${gib} GiB, node ${machine.node}, ${machine.postgres}`;
}

const COLUMNS = [
  'scenario',
  'conns',
  'req/s',
  'tool calls/s',
  'paid calls/s',
  'p50 ms',
  'p99 ms',
  'errors',
  'peak RSS MB',
  'CPU % gw/loadgen/pg/machine',
] as const;

function row(s: ScenarioResult): string[] {
  const { gatewayPct, loadGeneratorPct, postgresPct, machinePct } = s.cpu;
  return [
    s.name,
    String(s.connections),
    s.requestsPerS.toFixed(0),
    s.toolCallsPerS.toFixed(0),
    s.paidCallsPerS.toFixed(0),
    String(s.latencyMs.p50),
    String(s.latencyMs.p99),
    String(s.errors.total),
    s.peakRssMb.toFixed(0),
    `${gatewayPct}/${loadGeneratorPct}/${postgresPct ?? '–'}/${machinePct}`,
  ];
}

function failureLine(s: ScenarioResult): string {
  const { timeouts, connection } = s.errors;
  const labels = Object.entries(s.failures).map(([label, count]) => `${label} ×${count}`);
  if (timeouts > 0) labels.push(`timeout ×${timeouts}`);
  if (connection > 0) labels.push(`connection error ×${connection}`);
  return `${s.name} errors: ${labels.join(', ')}`;
}

/**
 * What key policies cost on the paid path (issue 16: at least 90 %): the governed scenario's calls/s
 * over the plain spread's, in the same run, and CPU per call of each.
 */
function governanceCost(scenarios: ScenarioResult[]): string[] {
  const plain = scenarios.find((s) => s.name === 'tier0-spread');
  const governed = scenarios.find((s) => s.name === 'tier0-spread-governed');
  if (!plain || !governed || plain.paidCallsPerS === 0) return [];
  const ratio = (100 * governed.paidCallsPerS) / plain.paidCallsPerS;
  return [`key policies: tier0-spread-governed runs at ${ratio.toFixed(1)} % of tier0-spread's paid calls/s in this run (bound: 90 %)`];
}

/** Microseconds of gateway CPU per paid call: its CPU % of one core over its paid calls/s. */
function gatewayCpuPerCallUs(s: ScenarioResult): number {
  return (s.cpu.gatewayPct / 100 / s.paidCallsPerS) * 1e6;
}

/**
 * What counting metrics costs on the paid path (issue 17: at least 95 %): tier0-spread (metrics on)
 * against the same load on a second gateway with METRICS=off, in the same run, and the gateway's
 * CPU per paid call of each.
 */
function metricsCost(scenarios: ScenarioResult[]): string[] {
  const side = (names: string[]) => scenarios.filter((s) => names.includes(s.name) && s.paidCallsPerS > 0);
  const on = side(['tier0-spread', 'tier0-spread-again']);
  const off = side(['tier0-spread-metrics-off', 'tier0-spread-metrics-off-again']);
  if (!on.length || !off.length) return [];
  const mean = (runs: ScenarioResult[], of: (run: ScenarioResult) => number) => runs.reduce((sum, run) => sum + of(run), 0) / runs.length;
  const callsOn = mean(on, (run) => run.paidCallsPerS);
  const callsOff = mean(off, (run) => run.paidCallsPerS);
  const each = (runs: ScenarioResult[]) => runs.map((run) => run.paidCallsPerS.toFixed(0)).join(' · ');
  return [
    `metrics cost (issue 17: at least 95 %): tier0-spread with metrics ${callsOn.toFixed(0)} calls/s (${each(on)}), ` +
      `without ${callsOff.toFixed(0)} calls/s (${each(off)}): ${((100 * callsOn) / callsOff).toFixed(1)} %; ` +
      `gateway CPU per paid call ${mean(on, gatewayCpuPerCallUs).toFixed(0)} µs with, ${mean(off, gatewayCpuPerCallUs).toFixed(0)} µs without`,
  ];
}

/**
 * What calling a catalog tool (issue 19) costs the gateway beyond a built-in Tier 0 call: the
 * argument and result checks, the signed upstream request, the retry check. Gateway CPU per paid
 * call of catalog-spread against tier0-spread in the same run.
 */
function catalogCost(scenarios: ScenarioResult[]): string[] {
  const plain = scenarios.find((s) => s.name === 'tier0-spread' && s.paidCallsPerS > 0);
  const catalog = scenarios.find((s) => s.name === 'catalog-spread' && s.paidCallsPerS > 0);
  if (!plain || !catalog) return [];
  return [
    `catalog tool calls: ${catalog.paidCallsPerS.toFixed(0)} paid calls/s (tier0-spread ${plain.paidCallsPerS.toFixed(0)}); ` +
      `gateway CPU per paid call ${gatewayCpuPerCallUs(catalog).toFixed(0)} µs (tier0-spread ${gatewayCpuPerCallUs(plain).toFixed(0)} µs)`,
  ];
}

/**
 * What the MCP front door (issue 20) costs the gateway beyond A2A's for the same Tier 0 calls: the
 * SDK server and transport built per request, its schema checks, the event-stream answer, the
 * balance read for `_meta`. Gateway CPU per paid call of mcp-spread against tier0-spread in the same run.
 */
function mcpCost(scenarios: ScenarioResult[]): string[] {
  const plain = scenarios.find((s) => s.name === 'tier0-spread' && s.paidCallsPerS > 0);
  const mcp = scenarios.find((s) => s.name === 'mcp-spread' && s.paidCallsPerS > 0);
  if (!plain || !mcp) return [];
  return [
    `MCP tool calls: ${mcp.paidCallsPerS.toFixed(0)} paid calls/s (tier0-spread ${plain.paidCallsPerS.toFixed(0)}); ` +
      `gateway CPU per paid call ${gatewayCpuPerCallUs(mcp).toFixed(0)} µs (tier0-spread ${gatewayCpuPerCallUs(plain).toFixed(0)} µs, ` +
      `${(gatewayCpuPerCallUs(mcp) / gatewayCpuPerCallUs(plain)).toFixed(2)}×)`,
  ];
}

/**
 * What a call paid per call with x402 over HTTP (issue 21) costs the gateway beyond a keyed call of
 * the same tool through the same route: parsing the payment, the facilitator's verify (a signature
 * check and an eth_call simulating the transfer), the wallet's organization, the claim, the
 * settlement (a transaction sent and its receipt awaited) and the books. Gateway CPU per paid call
 * of x402-http against rest-spread in the same run; the chain mines each settlement, so x402's
 * calls/s may be the chain's bound, not the gateway's.
 */
function x402Cost(scenarios: ScenarioResult[], x402: X402BenchResult | undefined): string[] {
  const keyed = scenarios.find((s) => s.name === 'rest-spread' && s.paidCallsPerS > 0);
  const paid = scenarios.find((s) => s.name === 'x402-http' && s.paidCallsPerS > 0);
  const lines: string[] = [];
  if (keyed && paid) {
    lines.push(
      `x402 calls over HTTP: ${paid.paidCallsPerS.toFixed(0)} paid calls/s (keyed rest-spread ${keyed.paidCallsPerS.toFixed(0)}); ` +
        `gateway CPU per paid call ${gatewayCpuPerCallUs(paid).toFixed(0)} µs (rest-spread ${gatewayCpuPerCallUs(keyed).toFixed(0)} µs, ` +
        `${(gatewayCpuPerCallUs(paid) / gatewayCpuPerCallUs(keyed)).toFixed(2)}×); p50 ${paid.latencyMs.p50} ms ` +
        `(rest-spread ${keyed.latencyMs.p50} ms); each settlement is a transaction anvil mines and the gateway awaits before it answers, ` +
        `so x402's calls/s may be bounded by the chain and that wait, not the gateway: its CPU per paid call is the figure to compare`,
    );
  }
  if (x402) {
    lines.push(
      `x402 payments: ${x402.paymentsSent} of ${x402.paymentsSigned} pre-signed sent${x402.poolSpent ? ' (POOL SPENT: later calls went unpaid)' : ''}, ` +
        `anvil mined ${x402.blocksMined} blocks meanwhile; ${formatX402Money(x402.money)}`,
      `x402 gateway's ${formatChargedCounter(x402.chargedCounter)}`,
    );
  }
  return lines;
}

const ms = (value: number | null) => (value === null ? '–' : value.toFixed(2));

/** Issue 18's lines: the floor, the gateway as a multiple of it, and CPU per paid call. */
function floorLines(floor: FloorReport | undefined): string[] {
  if (!floor?.runs.length) return [];
  const { ratio, p99Ms, gatewayCpuPerCallMs } = FLOOR_TARGETS;
  const lines = [
    `floor (pgbench, naive paid call, ${FLOOR_CLIENTS} clients): ` +
      floor.runs.map((run) => `${run.shape} ${run.callsPerS.toFixed(0)} calls/s (p99 ${run.latencyMs.p99} ms)`).join(', '),
  ];
  if (floor.comparisons.length) {
    lines.push(
      `gateway/floor (target ≥ ${ratio}× with p99 ≤ ${p99Ms} ms): ${floor.comparisons
        .map((c) => `${c.scenario} ${c.ratio.toFixed(2)}× p99 ${c.gatewayP99Ms} ms${c.pacedAtPerS ? ` (sent at ${c.pacedAtPerS}/s)` : ''}`)
        .join(', ')}`,
      `CPU per paid call: ${floor.comparisons
        .map((c) => `${c.scenario} gateway ${ms(c.gatewayCpuPerCallMs)} ms, PostgreSQL ${ms(c.postgresCpuPerCallMs)} ms`)
        .join('; ')} (target: gateway ≤ ${gatewayCpuPerCallMs.toFixed(2)} ms); ` +
        `the floor's PostgreSQL ${floor.runs.map((run) => `${ms(run.postgresCpuPerCallMs)} ms (${run.shape})`).join(', ')}`,
    );
  }
  return lines;
}

/** The figures as a Markdown table, preceded by the machine and dataset lines. */
export function formatTable(results: BenchResults): string {
  const rows = [[...COLUMNS], ...results.scenarios.map(row)];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((cells) => cells[i]!.length)));
  const line = (cells: string[]) =>
    `| ${cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join(' | ')} |`;
  const { dataset: d } = results;
  return [
    machineLine(results.machine),
    `dataset: ${d.agents} agents, ${d.feedbacks} feedbacks, ${d.validations} validations, ${d.organizations} orgs (seeded in ${results.seedSeconds.toFixed(1)} s); ` +
      `${results.durationS} s per scenario after ${results.warmupS} s warm-up`,
    '',
    line(rows[0]!),
    `|${widths.map((width, i) => (i === 0 ? `${'-'.repeat(width + 1)}-` : `${'-'.repeat(width + 1)}:`)).join('|')}|`,
    ...rows.slice(1).map(line),
    '',
    ...results.scenarios.filter((s) => s.errors.total > 0).map(failureLine),
    ...governanceCost(results.scenarios),
    ...metricsCost(results.scenarios),
    ...catalogCost(results.scenarios),
    ...mcpCost(results.scenarios),
    ...x402Cost(results.scenarios, results.x402),
    ...floorLines(results.floor),
    `money: ${results.money.ok ? 'ok' : 'BROKEN'}: balance = Σ amount, reserved = Σ reserved_delta = 0 ` +
      `over ${results.money.accounts} accounts (${results.money.violations.length} violations, ` +
      `${results.money.workingTasks} tasks still working); ledger charged ${results.money.chargedMicroUsdc} µUSDC`,
    formatChargedCounter(results.chargedCounter),
    ...(results.usage ? ['', formatUsageBench(results.usage)] : []),
    ...(results.catalog ? ['', formatCatalogBench(results.catalog)] : []),
    ...(results.indexer ? ['', formatIndexerBench(results.indexer)] : []),
  ].join('\n');
}
