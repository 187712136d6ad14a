/**
 * The floor (issue 18): the database work of a Tier 0 paid call done the naive way
 * (floor-script.ts), driven by pgbench with 16 clients on the bench's own database, so the gateway's
 * calls/s can be read as a multiple of what plain SQL round trips reach on the same PostgreSQL.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { sql } from 'drizzle-orm';
import { openDatabase } from '../src/db/client.js';
import { type CpuSnapshot, cpuPerCallMs, cpuShares, takeCpuSnapshot } from './cpu.js';
import { FLOOR_ORGS_TABLE, type FloorShape, floorScripts } from './floor-script.js';
import type { BenchOrganization } from './seed.js';

/** Issue 18's floor: 16 clients (pgbench threads: one per core of the machines it was set for). */
export const FLOOR_CLIENTS = 16;
const FLOOR_THREADS = 2;

/** Issue 18's targets: the gateway at 1.3 × the floor with p99 ≤ 50 ms, and ≤ 0.30 ms of gateway CPU per Tier 0 call. */
export const FLOOR_TARGETS = { ratio: 1.3, p99Ms: 50, gatewayCpuPerCallMs: 0.3 } as const;

/** The gateway scenario each floor shape is the floor of. */
export const FLOOR_OF: Readonly<Record<FloorShape, string>> = { spread: 'tier0-spread', 'hot-org': 'tier0-hot-org' };
/** Other scenarios compared with a floor: tier0-spread at the floor's own concurrency, and sent at the target's rate. */
export const ALSO_COMPARED: Readonly<Record<string, FloorShape>> = { 'tier0-spread-16': 'spread', 'tier0-spread-paced': 'spread' };

export interface FloorResult {
  shape: FloorShape;
  /** the gateway scenario it is compared with */
  scenario: string;
  clients: number;
  /** the measured window, s */
  durationS: number;
  /** paid calls (pgbench transactions: one script run is one call) ended within the window */
  calls: number;
  callsPerS: number;
  latencyMs: { p50: number; p99: number };
  /** percent of one core over the window: pgbench itself, the bench database's backends, the whole machine */
  cpu: { pgbenchPct: number; postgresPct: number | null; machinePct: number };
  /** PostgreSQL CPU ms per paid call; null when its backends are not on this machine */
  postgresCpuPerCallMs: number | null;
}

/** pgbench's version line; throws (never skips) when it is not installed, as the floor is part of every run. */
export function requirePgbench(): string {
  const probe = spawnSync('pgbench', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      `pgbench is needed for the bench's floor (issue 18) and did not run (${probe.error?.message ?? probe.stderr.trim()}); ` +
        'install the PostgreSQL client tools (Debian/Ubuntu: apt-get install postgresql-client)',
    );
  }
  return probe.stdout.trim();
}

/** Numbers the bench's organizations 1..N with their first key, in the bench's order (the first is tier0-hot-org's). */
export async function prepareFloor(url: string, organizations: readonly BenchOrganization[]): Promise<void> {
  const db = await openDatabase({ url, poolSize: 1 });
  try {
    await db.run(sql.raw(`create table ${FLOOR_ORGS_TABLE} (n int primary key, org_id uuid not null, key_id uuid not null)`));
    await db.run(
      sql`insert into ${sql.identifier(FLOOR_ORGS_TABLE)} (n, org_id, key_id) values ${sql.join(
        organizations.map((org, i) => sql`(${i + 1}, ${org.orgId}::uuid, ${org.apiKeyId}::uuid)`),
        sql`, `,
      )}`,
    );
  } finally {
    await db.close();
  }
}

/** libpq's environment for the database `url` names, so no password reaches a command line. */
function libpqEnv(url: string): NodeJS.ProcessEnv {
  const parsed = new URL(url);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PGHOST: decodeURIComponent(parsed.hostname) || 'localhost',
    PGPORT: parsed.port || '5432',
    PGDATABASE: decodeURIComponent(parsed.pathname.slice(1)),
  };
  if (parsed.username) env.PGUSER = decodeURIComponent(parsed.username);
  if (parsed.password) env.PGPASSWORD = decodeURIComponent(parsed.password);
  const sslmode = parsed.searchParams.get('sslmode');
  if (sslmode) env.PGSSLMODE = sslmode;
  return env;
}

interface Mark {
  cpu: CpuSnapshot;
  /** wall clock, the one pgbench's per-transaction log is stamped with */
  epochMs: number;
}

const PROGRESS = /^progress: (\d+(?:\.\d+)?) s/;

/** A call's latency and when it ended, from a line of pgbench's per-transaction log. */
function logEntry(line: string): { latencyUs: number; endMs: number } | undefined {
  // client_id transaction_no time script_no time_epoch time_us
  const fields = line.trim().split(' ');
  if (fields.length < 6) return undefined;
  const latencyUs = Number(fields[2]);
  const endMs = Number(fields[4]) * 1000 + Number(fields[5]) / 1000;
  return Number.isFinite(latencyUs) && Number.isFinite(endMs) ? { latencyUs, endMs } : undefined;
}

function percentileMs(sortedUs: number[], share: number): number {
  if (sortedUs.length === 0) return 0;
  const us = sortedUs[Math.max(0, Math.ceil(share * sortedUs.length) - 1)]!;
  return Math.round(us / 100) / 10;
}

const round1 = (value: number) => Math.round(value * 10) / 10;

/**
 * Runs the shape's floor: pgbench for max(warmupS, 1) unmeasured seconds (its clients connect; their
 * backends exist before the first CPU reading), then `durationS` measured, then one more second, so
 * the readings at either end of the window, taken on pgbench's progress lines, see every backend
 * alive. Calls and latencies are those of the per-transaction log that ended within the window.
 */
export async function runFloor(
  shape: FloorShape,
  target: { url: string; database: string; agents: number; organizations: number; warmupS: number; durationS: number },
): Promise<FloorResult> {
  const dir = mkdtempSync(join(tmpdir(), 'paygate-floor-'));
  let pgbench: ChildProcess | undefined;
  try {
    const scripts = floorScripts(shape).map((script) => {
      const path = join(dir, `${script.name}.sql`);
      writeFileSync(path, script.text);
      return path;
    });
    const startS = Math.max(target.warmupS, 1);
    const endS = startS + target.durationS;
    const args = [
      '--no-vacuum',
      `--client=${FLOOR_CLIENTS}`,
      `--jobs=${FLOOR_THREADS}`,
      `--time=${endS + 1}`,
      '--progress=1',
      '--protocol=prepared',
      '--log',
      `--log-prefix=${join(dir, 'calls')}`,
      `--define=orgs=${target.organizations}`,
      `--define=agents=${target.agents}`,
      // Equal weights: the scenarios send each Tier 0 tool half the time (bench/calls.ts).
      ...scripts.map((path) => `--file=${path}@1`),
    ];
    const child = spawn('pgbench', args, { env: libpqEnv(target.url), stdio: ['ignore', 'pipe', 'pipe'] });
    pgbench = child;
    const output: string[] = [];
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    let before: Mark | undefined;
    let after: Mark | undefined;
    const mark = (): Mark => ({ cpu: takeCpuSnapshot(child.pid ?? 0, target.database), epochMs: Date.now() });
    createInterface({ input: child.stderr }).on('line', (line) => {
      output.push(`${line}\n`);
      const elapsedS = Number(PROGRESS.exec(line)?.[1] ?? Number.NaN);
      if (!before && elapsedS >= startS) before = mark();
      else if (before && !after && elapsedS >= endS) after = mark();
    });
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', resolve);
    });
    const said = output.join('').trim();
    if (code !== 0) throw new Error(`pgbench (floor, ${shape}) exited with ${code}:\n${said}`);
    if (!before || !after) throw new Error(`pgbench (floor, ${shape}) printed no progress at ${startS} s and ${endS} s:\n${said}`);
    const from = before.epochMs;
    const to = after.epochMs;
    const latenciesUs = readdirSync(dir)
      .filter((name) => name.startsWith('calls.'))
      .flatMap((name) => readFileSync(join(dir, name), 'utf8').split('\n'))
      .map(logEntry)
      .filter((entry) => entry !== undefined && entry.endMs >= from && entry.endMs < to)
      .map((entry) => entry!.latencyUs)
      .sort((a, b) => a - b);
    const windowS = (to - from) / 1000;
    const shares = cpuShares(before.cpu, after.cpu);
    const callsPerS = latenciesUs.length / windowS;
    return {
      shape,
      scenario: FLOOR_OF[shape],
      clients: FLOOR_CLIENTS,
      durationS: round1(windowS),
      calls: latenciesUs.length,
      callsPerS: round1(callsPerS),
      latencyMs: { p50: percentileMs(latenciesUs, 0.5), p99: percentileMs(latenciesUs, 0.99) },
      // cpuShares' "gateway" is the process it was given: pgbench here.
      cpu: { pgbenchPct: shares.gatewayPct, postgresPct: shares.postgresPct, machinePct: shares.machinePct },
      postgresCpuPerCallMs: cpuPerCallMs(shares.postgresPct, callsPerS),
    };
  } finally {
    if (pgbench && pgbench.exitCode === null && pgbench.signalCode === null) pgbench.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}
