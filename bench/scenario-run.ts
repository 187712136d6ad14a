import { type CpuShares, cpuPerCallMs, cpuShares, takeCpuSnapshot } from './cpu.js';
import { type LoadResult, runLoad } from './load.js';
import { peakRssBytes } from './procfs.js';
import type { Scenario, ScenarioInput } from './scenarios.js';

export interface ErrorCounts {
  total: number;
  /** non-2xx responses */
  http: number;
  /** JSON-RPC error answers */
  rpc: number;
  /** task answers not completed (failed, rejected, …) */
  notCompleted: number;
  /** MCP calls refused before a task (isError results with a reason); A2A's refusals are in rpc */
  refused: number;
  /** 2xx bodies that are not JSON-RPC answers */
  unreadable: number;
  timeouts: number;
  connection: number;
}

export interface ScenarioResult {
  name: string;
  description: string;
  /** the gateway it loaded when not the run's own (Scenario.gateway) */
  gateway?: 'metrics-off' | 'x402';
  /** the front door it called when not A2A's (Scenario.protocol) */
  protocol?: 'mcp' | 'rest';
  connections: number;
  callsPerRequest: number;
  /** the requests/s an open-loop scenario was sent at (Scenario.pacedAt); absent for closed loops */
  pacedAtPerS?: number;
  durationS: number;
  requests: number;
  requestsPerS: number;
  /** callsPerRequest × requests/s */
  toolCallsPerS: number;
  paidCalls: number;
  paidCallsPerS: number;
  latencyMs: { p50: number; p99: number };
  errors: ErrorCounts;
  /** failure label → count, to tell errors apart */
  failures: Record<string, number>;
  /** the gateway's VmHWM after this scenario: its peak RSS since it started */
  peakRssMb: number;
  cpu: CpuShares;
  /** CPU ms per paid call of the gateway and of the bench database's backends (null: not on this machine, or no paid call) */
  cpuPerPaidCallMs: { gateway: number | null; postgres: number | null };
}

function errorCounts(load: LoadResult): ErrorCounts {
  const { tally } = load;
  const counts = {
    http: tally.httpErrors,
    rpc: tally.rpcErrors,
    notCompleted: tally.otherStates,
    refused: tally.refused,
    unreadable: tally.unreadable,
    timeouts: load.timeouts,
    connection: load.connectionErrors,
  };
  return { total: Object.values(counts).reduce((sum, n) => sum + n, 0), ...counts };
}

const round1 = (value: number) => Math.round(value * 10) / 10;

/**
 * Runs the scenario unmeasured for `warmupS` (if > 0), then measured for `durationS`; at
 * `overallRate` requests/s when given (an open loop), else each connection as fast as it is answered.
 */
export async function runScenario(
  scenario: Scenario,
  target: { baseUrl: string; gatewayPid: number; database: string; durationS: number; warmupS: number; overallRate?: number },
  input: ScenarioInput,
): Promise<ScenarioResult> {
  const { overallRate } = target;
  const load = (durationS: number) =>
    runLoad({
      baseUrl: target.baseUrl,
      protocol: scenario.protocol ?? 'a2a',
      connections: scenario.connections,
      durationS,
      ...(overallRate ? { overallRate } : {}),
      nextRequest: scenario.requests(input),
    });
  if (target.warmupS > 0) await load(target.warmupS);
  const before = takeCpuSnapshot(target.gatewayPid, target.database);
  const measured = await load(target.durationS);
  const after = takeCpuSnapshot(target.gatewayPid, target.database);
  const requestsPerS = measured.requests / measured.durationS;
  const paidCallsPerS = measured.tally.completed / measured.durationS;
  const cpu = cpuShares(before, after);
  return {
    name: scenario.name,
    description: scenario.description,
    ...(scenario.gateway ? { gateway: scenario.gateway } : {}),
    ...(scenario.protocol ? { protocol: scenario.protocol } : {}),
    connections: scenario.connections,
    callsPerRequest: scenario.callsPerRequest,
    ...(overallRate ? { pacedAtPerS: overallRate } : {}),
    durationS: measured.durationS,
    requests: measured.requests,
    requestsPerS: round1(requestsPerS),
    toolCallsPerS: round1(requestsPerS * scenario.callsPerRequest),
    paidCalls: measured.tally.completed,
    paidCallsPerS: round1(paidCallsPerS),
    latencyMs: { p50: measured.latencyP50Ms, p99: measured.latencyP99Ms },
    errors: errorCounts(measured),
    failures: Object.fromEntries(measured.tally.failures),
    peakRssMb: round1(peakRssBytes(target.gatewayPid) / 2 ** 20),
    cpu,
    cpuPerPaidCallMs: { gateway: cpuPerCallMs(cpu.gatewayPct, paidCallsPerS), postgres: cpuPerCallMs(cpu.postgresPct, paidCallsPerS) },
  };
}
