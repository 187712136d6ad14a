import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { openDatabase } from '../src/db/client.js';

/**
 * Issue 17 calls `paygate_charged_micro_usdc_total{tool}` exact: over a bench run it equals the sum
 * of the ledger rows that charged a call which the scraped gateway wrote: an instant call's
 * `charge`, a held call's `capture` (the gateway counts both; the bench's calls are all instant).
 */
export interface ChargedCounterReport {
  ok: boolean;
  /** Σ of the counter over tools, from the run's own gateway's GET /metrics; null when it has no such counter */
  counterMicroUsdc: string | null;
  /** the counter by tool */
  counterByTool: Record<string, string>;
  /**
   * −Σ amount of the charge and capture rows that gateway wrote: the run's, less the floor's (written
   * before the gateway started) and those written while the metrics-off gateway served
   */
  ledgerMicroUsdc: string;
  /** −Σ amount of the charge and capture rows written while the metrics-off gateway served, left out of ledgerMicroUsdc */
  metricsOffLedgerMicroUsdc: string;
  /** −Σ amount of the charge rows the x402 gateway wrote (held against its own counter), left out of ledgerMicroUsdc */
  x402LedgerMicroUsdc?: string;
  /** why the check failed, when it did */
  problem?: string;
}

const COUNTER = 'paygate_charged_micro_usdc_total';
/** no new charge row for this long: the calls a stopped load left in flight have settled */
const QUIET_MS = 1_000;
const POLL_MS = 100;
const SETTLE_TIMEOUT_MS = 15_000;

const chargeTotalRow = z.object({ rows: z.bigint(), total: z.bigint() });

/** −Σ amount of every `charge` and `capture` ledger row (what calls were charged), and how many rows. */
async function readChargeLedger(url: string): Promise<z.output<typeof chargeTotalRow>> {
  const db = await openDatabase({ url, poolSize: 1 });
  try {
    const [row] = await db.rows(
      chargeTotalRow,
      sql`select count(*)::int8 as rows, coalesce(-sum(amount), 0)::int8 as total from ledger_entries where kind in ('charge', 'capture')`,
    );
    return row ?? { rows: 0n, total: 0n };
  } finally {
    await db.close();
  }
}

/** The charged rows' total once no gateway that may still be writing one is left, e.g. after it stopped. */
export async function chargeLedgerTotal(url: string): Promise<bigint> {
  return (await readChargeLedger(url)).total;
}

/**
 * The charged rows' total once no row has been added for QUIET_MS (up to SETTLE_TIMEOUT_MS): a load
 * that stops leaves calls in flight in a gateway that keeps running, and each charges when it ends.
 */
export async function settledChargeLedgerTotal(url: string): Promise<bigint> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  let last = await readChargeLedger(url);
  let quietSince = Date.now();
  while (Date.now() - quietSince < QUIET_MS && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    const now = await readChargeLedger(url);
    if (now.rows !== last.rows || now.total !== last.total) quietSince = Date.now();
    last = now;
  }
  return last.total;
}

/** A sample line of the counter, `name{tool="…"} value` (labels optional), its value a whole number. */
const SAMPLE = new RegExp(`^${COUNTER}(?:\\{(?<labels>[^}]*)\\})?\\s+(?<value>\\S+)`);
const TOOL_LABEL = /(?:^|,)tool="(?<tool>[^"]*)"/;
const wholeNumber = z.string().regex(/^\d+$/, 'not a whole number of micro-USDC');

/**
 * The counter by tool from a Prometheus text exposition; undefined when the exposition does not
 * declare it (a gateway without it counts nothing). Throws on a value that is not a whole number.
 */
export function parseChargedCounter(exposition: string): Map<string, bigint> | undefined {
  const lines = exposition.split('\n');
  if (!lines.some((line) => line.startsWith(`# TYPE ${COUNTER} counter`))) return undefined;
  const byTool = new Map<string, bigint>();
  for (const line of lines) {
    const sample = SAMPLE.exec(line)?.groups;
    if (!sample) continue;
    const tool = TOOL_LABEL.exec(sample.labels ?? '')?.groups?.tool ?? '';
    byTool.set(tool, (byTool.get(tool) ?? 0n) + BigInt(wholeNumber.parse(sample.value)));
  }
  return byTool;
}

/** Scrapes the gateway's GET /metrics and compares its charged counter with `ledgerMicroUsdc`. */
export async function checkChargedCounter(
  baseUrl: string,
  ledger: { ledgerMicroUsdc: bigint; metricsOffLedgerMicroUsdc: bigint; x402LedgerMicroUsdc?: bigint },
): Promise<ChargedCounterReport> {
  const amounts = {
    ledgerMicroUsdc: ledger.ledgerMicroUsdc.toString(),
    metricsOffLedgerMicroUsdc: ledger.metricsOffLedgerMicroUsdc.toString(),
    ...(ledger.x402LedgerMicroUsdc ? { x402LedgerMicroUsdc: ledger.x402LedgerMicroUsdc.toString() } : {}),
  };
  const response = await fetch(`${baseUrl}/metrics`);
  const text = await response.text();
  if (!response.ok)
    return { ok: false, counterMicroUsdc: null, counterByTool: {}, ...amounts, problem: `GET /metrics answered ${response.status}` };
  let byTool: Map<string, bigint> | undefined;
  try {
    byTool = parseChargedCounter(text);
  } catch (error) {
    return { ok: false, counterMicroUsdc: null, counterByTool: {}, ...amounts, problem: `${COUNTER}: ${String(error)}` };
  }
  if (!byTool) return { ok: false, counterMicroUsdc: null, counterByTool: {}, ...amounts, problem: `GET /metrics has no ${COUNTER}` };
  const counter = [...byTool.values()].reduce((sum, value) => sum + value, 0n);
  const ok = counter === ledger.ledgerMicroUsdc;
  return {
    ok,
    counterMicroUsdc: counter.toString(),
    counterByTool: Object.fromEntries([...byTool].map(([tool, value]) => [tool, value.toString()])),
    ...amounts,
    ...(ok ? {} : { problem: `the counter is ${counter}, the ledger rows ${ledger.ledgerMicroUsdc}` }),
  };
}

export function formatChargedCounter(report: ChargedCounterReport): string {
  const excluded =
    (report.metricsOffLedgerMicroUsdc === '0'
      ? ''
      : `; the metrics-off gateway's ${report.metricsOffLedgerMicroUsdc} micro-USDC left out`) +
    (report.x402LedgerMicroUsdc ? `; the x402 gateway's ${report.x402LedgerMicroUsdc} micro-USDC left out` : '');
  return report.ok
    ? `charged counter = ledger charges written by this gateway: ok (${report.ledgerMicroUsdc} micro-USDC)${excluded}`
    : `charged counter = ledger charges written by this gateway: MISMATCH: ${report.problem}${excluded}`;
}
