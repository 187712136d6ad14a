import { backendsOf, cpuSeconds, machineBusySeconds } from './procfs.js';

export interface CpuSnapshot {
  atMs: number;
  gatewayS: number;
  loadGeneratorS: number;
  /** CPU seconds of each PostgreSQL backend serving the bench database (none when the server is elsewhere) */
  postgresS: Map<number, number>;
  machineBusyS: number;
}

/** Percent of one core each party used between two snapshots (200 % = both cores of a 2-core box). */
export interface CpuShares {
  gatewayPct: number;
  loadGeneratorPct: number;
  /** the bench database's backends; null when none runs on this machine */
  postgresPct: number | null;
  /** every busy core of the machine: the three above, PostgreSQL's background work, the kernel, other processes */
  machinePct: number;
}

export function takeCpuSnapshot(gatewayPid: number, database: string): CpuSnapshot {
  const usage = process.cpuUsage();
  const postgresS = new Map<number, number>();
  for (const pid of backendsOf(database)) {
    const seconds = cpuSeconds(pid);
    if (seconds !== undefined) postgresS.set(pid, seconds);
  }
  return {
    atMs: performance.now(),
    gatewayS: cpuSeconds(gatewayPid) ?? 0,
    loadGeneratorS: (usage.user + usage.system) / 1e6,
    postgresS,
    machineBusyS: machineBusySeconds(),
  };
}

export function cpuShares(before: CpuSnapshot, after: CpuSnapshot): CpuShares {
  const wallS = (after.atMs - before.atMs) / 1000;
  const pct = (seconds: number) => Math.round((seconds / wallS) * 100);
  let postgresS = 0;
  // Backends that started during the interval count from zero; those that ended are lost (rare: pooled).
  for (const [pid, seconds] of after.postgresS) postgresS += seconds - (before.postgresS.get(pid) ?? 0);
  return {
    gatewayPct: pct(after.gatewayS - before.gatewayS),
    loadGeneratorPct: pct(after.loadGeneratorS - before.loadGeneratorS),
    postgresPct: after.postgresS.size === 0 ? null : pct(postgresS),
    machinePct: pct(after.machineBusyS - before.machineBusyS),
  };
}

/** CPU ms per paid call from a CPU share (percent of one core) and a rate; null when either is unknown or nil. */
export function cpuPerCallMs(cpuPct: number | null, callsPerS: number): number | null {
  if (cpuPct === null || callsPerS <= 0) return null;
  return Math.round((cpuPct / 100 / callsPerS) * 1000 * 1000) / 1000;
}
