import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { PLATFORM_ORG_ID } from '../../src/billing/platform.js';
import type { Database } from '../../src/db/client.js';
import { builtEntry } from '../helpers/built-gateway.js';
import { databaseEnv } from '../helpers/database.js';

/**
 * Helpers for the robustness suites: the real gateway as `npm start` runs it (`node dist/src/main.js`,
 * built by buildGateway() in the suite's beforeAll) as a child process, for the suites that kill,
 * restart or double it — its stdout and stderr are piped and kept, so a failing test can print
 * them — and the money invariants read straight from a database.
 */

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export { freePort } from '../helpers/loopback.js';

export interface GatewayProcess {
  readonly name: string;
  readonly port: number;
  readonly baseUrl: string;
  readonly child: ChildProcess;
  /** resolves with the exit code (or signal name) once the process is gone */
  readonly exited: Promise<string>;
  /** everything the process printed so far, stdout and stderr interleaved, prefixed with its name */
  output(): string;
  isRunning(): boolean;
  /** SIGKILL, then waits for the exit */
  kill(): Promise<void>;
}

/** Variables of the parent that must not leak into the gateway (vitest's, and our own test knobs). */
function inheritedEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('VITEST') || key === 'NODE_OPTIONS' || key === 'TEST_LOG_LEVEL') continue;
    if (
      [
        'DATABASE_URL',
        'DATABASE_POOLER',
        'DATABASE_DIRECT_URL',
        'DATABASE_READ_URL',
        'DATA_DIR',
        'PUBLIC_URL',
        'HOST',
        'PORT',
        'DEMO',
      ].includes(key)
    )
      continue;
    env[key] = value;
  }
  return env;
}

/** Children still running when the test process exits (a crash, a timeout) are killed with it. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export function startGatewayProcess(options: {
  name: string;
  databaseUrl: string;
  /**
   * `databaseUrl` names a server of the test's own (test/helpers/cluster.ts): used as it is, never
   * routed to a database of that name on the machine's server (or through its pooler)
   */
  ownServer?: boolean;
  port: number;
  env?: Record<string, string>;
  /** the program to run, src/main.ts unless told; its build in dist/ is what runs */
  entry?: string;
}): GatewayProcess {
  const child = spawn(process.execPath, [builtEntry(options.entry ?? 'src/main.ts')], {
    cwd: REPO_ROOT,
    env: {
      ...inheritedEnv(),
      ...(options.ownServer ? { DATABASE_URL: options.databaseUrl } : databaseEnv(options.databaseUrl)),
      PORT: String(options.port),
      HOST: '127.0.0.1',
      DEMO: '0',
      LOG_LEVEL: 'warn',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  const lines: string[] = [];
  const keep = (stream: string) => (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() !== '') lines.push(`[${options.name} ${stream}] ${line}`);
    }
    // Bounded: a chatty process must not eat the test's memory.
    if (lines.length > 5_000) lines.splice(0, lines.length - 5_000);
  };
  child.stdout?.on('data', keep('out'));
  child.stderr?.on('data', keep('err'));
  let running = true;
  const exited = new Promise<string>((resolve) => {
    // 'close', not 'exit': it comes once stdout and stderr are drained, so the last lines are kept.
    child.once('close', (code, signal) => {
      running = false;
      live.delete(child);
      lines.push(`[${options.name}] exited: ${signal ?? `code ${code}`}`);
      resolve(signal ?? String(code));
    });
  });
  return {
    name: options.name,
    port: options.port,
    baseUrl: `http://127.0.0.1:${options.port}`,
    child,
    exited,
    output: () => lines.join('\n'),
    isRunning: () => running,
    kill: async () => {
      if (running) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Polls /readyz until the gateway answers 200; fails early (with its output) if it exits. */
export async function waitReady(gateway: GatewayProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!gateway.isRunning()) {
      throw new Error(`${gateway.name} exited before it was ready:\n${gateway.output()}`);
    }
    try {
      const response = await fetch(`${gateway.baseUrl}/readyz`, { signal: AbortSignal.timeout(1_000) });
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${gateway.name} was not ready within ${timeoutMs} ms:\n${gateway.output()}`);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it returns a value (not undefined) or the time is up; returns the last value or throws. */
export async function pollUntil<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  options: { timeoutMs: number; intervalMs?: number },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${what}`);
    await sleep(options.intervalMs ?? 100);
  }
}

/** Everything the given processes printed, for a failing test's report. */
export function outputsOf(gateways: readonly GatewayProcess[]): string {
  return gateways.map((gateway) => `── ${gateway.name} (port ${gateway.port}) ──\n${gateway.output() || '(no output)'}`).join('\n');
}

const accountMoney = z.object({
  orgId: z.string(),
  balance: z.bigint(),
  reserved: z.bigint(),
  ledgerAmount: z.bigint(),
  ledgerReserved: z.bigint(),
});
export type AccountMoney = z.infer<typeof accountMoney>;

/**
 * Every account next to its ledger sums: the invariant is balance = Σ amount, reserved = Σ
 * reserved_delta. The platform's own account (migration 0017) is listed only once something moved
 * it: these suites call built-in tools, which never do.
 */
export async function accountsWithLedger(db: Database): Promise<AccountMoney[]> {
  return db.rows(
    accountMoney,
    sql`
    select a.org_id::text as "orgId", a.balance, a.reserved,
           coalesce(sum(l.amount), 0)::int8 as "ledgerAmount",
           coalesce(sum(l.reserved_delta), 0)::int8 as "ledgerReserved"
      from credit_accounts a left join ledger_entries l on l.org_id = a.org_id
     group by a.org_id, a.balance, a.reserved
    having a.org_id <> ${PLATFORM_ORG_ID}::uuid or a.balance <> 0 or a.reserved <> 0 or count(l.id) > 0`,
  );
}

const ledgerKindTotals = z.object({
  kind: z.string(),
  reason: z.string().nullable(),
  n: z.bigint(),
  amount: z.bigint(),
  reserved: z.bigint(),
});
export type LedgerKindTotals = z.infer<typeof ledgerKindTotals>;

/** Ledger rows of one organization grouped by kind and reason. */
export async function ledgerTotals(db: Database, orgId: string): Promise<LedgerKindTotals[]> {
  return db.rows(
    ledgerKindTotals,
    sql`
    select kind::text as kind, reason, count(*)::int8 as n, sum(amount)::int8 as amount, sum(reserved_delta)::int8 as reserved
      from ledger_entries where org_id = ${orgId}
     group by kind, reason order by kind, reason`,
  );
}

/** Task counts of one organization by state. */
export async function taskStates(db: Database, orgId: string): Promise<Record<string, number>> {
  const rows = await db.rows(
    z.object({ state: z.string(), n: z.bigint() }),
    sql`select state::text as state, count(*)::int8 as n from tasks where org_id = ${orgId} group by state`,
  );
  return Object.fromEntries(rows.map((row) => [row.state, Number(row.n)]));
}

/** A Tier 0 paid call in A2A 1.0 shape, with a fresh messageId unless one is given. */
export function paidCallBody(agentId: number, messageId: string, tool = 'getAgentProfile'): string {
  return JSON.stringify({
    jsonrpc: '2.0',
    id: messageId,
    method: 'SendMessage',
    params: { message: { messageId, role: 'ROLE_USER', parts: [{ data: { tool, arguments: { agentId } } }] } },
  });
}
