import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { freePort } from './loopback.js';

/** Debian's PgBouncer (1.18, .ci/pgbouncer installs it): no protocol-level prepared statements. */
export const PGBOUNCER = '/usr/sbin/pgbouncer';

/**
 * A PgBouncer of the test's own in transaction mode, on a free loopback port, in front of the
 * PostgreSQL server at `serverUrl` for any database name. Never CI's (.ci/pgbouncer) nor the
 * machine's PostgreSQL: only this process is stopped.
 */
export interface OwnPgbouncer {
  /** `serverUrl` with the pooler's host and port: the same database, reached through the pooler */
  readonly url: string;
  /** `SHOW STATS` of the admin console: transactions and queries the pooler carried, per database */
  stats(): Promise<{ database: string; transactions: number; queries: number }[]>;
  dispose(): Promise<void>;
}

/** Children still running when the test process exits (a crash, a timeout) are killed with it. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export async function startOwnPgbouncer(serverUrl: string): Promise<OwnPgbouncer> {
  const server = new URL(serverUrl);
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'paygate-pgbouncer-'));
  // PgBouncer refuses to run as root; `-u postgres` drops to that user, which must read the folder.
  await chmod(dir, 0o755);
  await writeFile(join(dir, 'userlist.txt'), `"${decodeURIComponent(server.username) || 'postgres'}" ""\n`);
  await writeFile(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = host=${server.hostname} port=${server.port || '5432'}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${join(dir, 'userlist.txt')}`,
      `admin_users = ${decodeURIComponent(server.username) || 'postgres'}`,
      'pool_mode = transaction',
      'default_pool_size = 4',
      'server_login_retry = 1',
      '',
    ].join('\n'),
  );
  const asRoot = process.getuid?.() === 0;
  const child = spawn(PGBOUNCER, [...(asRoot ? ['-u', 'postgres'] : []), join(dir, 'pgbouncer.ini')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  let output = '';
  for (const stream of [child.stdout, child.stderr]) {
    stream?.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
  }
  const pooled = new URL(serverUrl);
  pooled.hostname = '127.0.0.1';
  pooled.port = String(port);
  const adminUrl = new URL(pooled);
  adminUrl.pathname = '/pgbouncer';
  const admin = postgres(adminUrl.toString(), { max: 1, onnotice: () => {}, fetch_types: false, prepare: false });

  const dispose = async () => {
    await admin.end({ timeout: 0 }).catch(() => {});
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await admin.unsafe('show version').simple();
      break;
    } catch (error) {
      if (child.exitCode !== null || Date.now() > deadline) {
        await dispose();
        throw new Error(`pgbouncer on port ${port} did not start (exit ${child.exitCode}): ${String(error)}\n${output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return {
    url: pooled.toString(),
    stats: async () => {
      const rows = await admin.unsafe<{ database: string; total_xact_count: string; total_query_count: string }[]>('show stats').simple();
      return rows.map((row) => ({
        database: row.database,
        transactions: Number(row.total_xact_count),
        queries: Number(row.total_query_count),
      }));
    },
    dispose,
  };
}
