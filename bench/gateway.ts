import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { listeningProcess } from './procfs.js';

export interface Gateway {
  readonly baseUrl: string;
  /** the process that serves HTTP (the one to measure), not necessarily the direct child */
  readonly servingPid: number;
  /** SIGTERM, then wait for the exit (SIGKILL after the grace period); idempotent */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 15_000;
const repoRoot = fileURLToPath(new URL('..', import.meta.url));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, resolve);
  });
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('could not pick a free port');
  return address.port;
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));
}

async function waitReady(baseUrl: string, child: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the gateway exited with ${child.exitCode} before ready; see ${logFile}`);
    const ready = await fetch(`${baseUrl}/readyz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the gateway was not ready within ${READY_TIMEOUT_MS} ms; see ${logFile}`);
}

function redisEnv(url: string): Record<string, string> {
  return url === 'none' ? {} : { REDIS_URL: url };
}

/** Builds the gateway as `npm start` does (dist/), once for every gateway a run starts. */
export function buildGateway(): void {
  execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: repoRoot, stdio: 'inherit' });
}

/**
 * How the gateway reaches the bench's database `databaseUrl`: directly, or with `poolerUrl` (a
 * transaction pooler in front of the same server, e.g. PgBouncer on 6432) through the pooler, with
 * `databaseUrl` as its direct URL, as a pooled deployment runs (docs/adr/0025).
 */
function databaseEnv(databaseUrl: string, poolerUrl: string | undefined): Record<string, string> {
  if (!poolerUrl) return { DATABASE_URL: databaseUrl };
  const pooled = new URL(poolerUrl);
  pooled.pathname = new URL(databaseUrl).pathname;
  return { DATABASE_URL: pooled.toString(), DATABASE_POOLER: 'transaction', DATABASE_DIRECT_URL: databaseUrl };
}

/**
 * Starts `node dist/src/main.js` (built by `buildGateway`) on `databaseUrl` and a free port, with
 * metrics on and /metrics served on that port without a token; resolves once /readyz answers.
 */
export async function startGateway(input: {
  databaseUrl: string;
  logFile: string;
  /** a directory for a V8 CPU profile of the gateway, written when it exits */
  profileDir?: string;
  /** variables set over the bench's defaults, e.g. `METRICS: 'off'` */
  env?: Record<string, string>;
}): Promise<Gateway> {
  const port = await freePort();
  const log = openSync(input.logFile, 'w');
  const profiling = input.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${input.profileDir}`] : [];
  const child = spawn(process.execPath, [...profiling, 'dist/src/main.js'], {
    cwd: repoRoot,
    env: {
      ...process.env,
      ...databaseEnv(input.databaseUrl, process.env.BENCH_POOLER_URL),
      HOST,
      PORT: String(port),
      LOG_LEVEL: 'warn',
      DEMO: '0',
      // Sized for this 2-core machine: postgres.js pipelines queries on busy connections, so a few
      // connections carry the load with fewer syscalls than many PostgreSQL backends sharing 2 cores.
      // BENCH_DB_POOL_SIZE tries another size.
      DB_POOL_SIZE: process.env.BENCH_DB_POOL_SIZE ?? '4',
      // Rate limits counted in Redis, as a deployment of several instances counts them (the
      // governed scenario's limits); BENCH_REDIS_URL=none counts them in the gateway's memory.
      ...redisEnv(process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'),
      // The charged-counter check scrapes GET /metrics on the gateway's own port, so neither a token
      // nor a port of its own from the caller's environment may move or guard it.
      METRICS: 'on',
      METRICS_TOKEN: undefined,
      METRICS_PORT: undefined,
      // Opens the seeded catalog tools' credentials, so they are active: listed in the card and the
      // OpenAI definitions as a gateway that sells them lists them (none is called).
      SECRETS_KEY: randomBytes(32).toString('hex'),
      ...input.env,
    },
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exited(child);
      clearTimeout(kill);
    })();
    return stopping;
  };
  try {
    const baseUrl = `http://${HOST}:${port}`;
    await waitReady(baseUrl, child, input.logFile);
    const servingPid = child.pid === undefined ? undefined : listeningProcess(child.pid, port);
    if (servingPid === undefined) throw new Error(`no process of the gateway's tree listens on port ${port}`);
    return { baseUrl, servingPid, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
