import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { DemoDataCounts } from '../src/db/demo-data.js';
import { type ChargedCounterReport, formatChargedCounter } from './charged-counter.js';
import { formatIndexerBench, type IndexerBenchResult } from './indexer.js';
import type { Machine } from './machine.js';
import type { MoneyReport } from './money.js';
import type { ScenarioResult } from './scenario-run.js';
import { formatUsageBench, type UsageBenchResult } from './usage.js';

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
  /** usage reads over one organization's long history; absent when --only left them out */
  usage?: UsageBenchResult;
  /** the ERC-8004 indexer's backfill; absent when --only left it out */
  indexer?: IndexerBenchResult;
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
  const on = scenarios.find((s) => s.name === 'tier0-spread');
  const off = scenarios.find((s) => s.name === 'tier0-spread-metrics-off');
  if (!on || !off || off.paidCallsPerS === 0 || on.paidCallsPerS === 0) return [];
  const ratio = (100 * on.paidCallsPerS) / off.paidCallsPerS;
  return [
    `metrics cost (issue 17: at least 95 %): tier0-spread with metrics ${on.paidCallsPerS.toFixed(0)} calls/s, ` +
      `without ${off.paidCallsPerS.toFixed(0)} calls/s: ${ratio.toFixed(1)} %; ` +
      `gateway CPU per paid call ${gatewayCpuPerCallUs(on).toFixed(0)} µs with, ${gatewayCpuPerCallUs(off).toFixed(0)} µs without`,
  ];
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
    `money: ${results.money.ok ? 'ok' : 'BROKEN'}: balance = Σ amount, reserved = Σ reserved_delta = 0 ` +
      `over ${results.money.accounts} accounts (${results.money.violations.length} violations, ` +
      `${results.money.workingTasks} tasks still working); ledger charged ${results.money.chargedMicroUsdc} µUSDC`,
    formatChargedCounter(results.chargedCounter),
    ...(results.usage ? ['', formatUsageBench(results.usage)] : []),
    ...(results.indexer ? ['', formatIndexerBench(results.indexer)] : []),
  ].join('\n');
}
