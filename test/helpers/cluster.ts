import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './loopback.js';

const run = promisify(execFile);

/**
 * A PostgreSQL cluster of the test's own, on a free loopback port, that the test may stop, kill and
 * start again on the same port. Never the machine's (127.0.0.1:5432): other sessions and suites
 * rely on that one.
 */
export interface OwnPostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres (trust authentication) */
  readonly url: string;
  /** `pg_ctl start`; resolves once the server accepts connections */
  start(): Promise<void>;
  /**
   * `pg_ctl stop -m <mode>`: `fast` ends every session (SQLSTATE 57P01) and shuts down cleanly;
   * `immediate` kills every server process, as a crash would, and the next start recovers from WAL
   */
  stop(mode: ShutdownMode): Promise<void>;
  /** stop, then start */
  restart(options: { mode: ShutdownMode }): Promise<void>;
  /** stops it if running and removes its folder */
  dispose(): Promise<void>;
}

export type ShutdownMode = 'fast' | 'immediate';

/** The newest PostgreSQL installed the Debian way. */
function postgresBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((name) => existsSync(join(root, name, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) throw new Error(`no PostgreSQL server binaries under ${root} (initdb, pg_ctl)`);
  return join(root, versions[0] as string, 'bin');
}

/** Clusters' folders whose server may still run: stopped at once (SIGQUIT, an immediate shutdown) and removed if the test process exits first. */
const live = new Set<string>();
process.once('exit', () => {
  for (const dir of live) {
    const pid = postmasterPid(join(dir, 'data'));
    if (pid) {
      try {
        process.kill(pid, 'SIGQUIT');
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
});

function postmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** initdb's and postgres' refusal to run as root: as root, the server's programs run as the `postgres` user. */
function asServerUser(program: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', program, ...args]] : [program, args];
}

export async function startOwnPostgres(): Promise<OwnPostgres> {
  const bin = postgresBin();
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'paygate-postgres-'));
  if (process.getuid?.() === 0) {
    const [uid, gid] = ['-u', '-g'].map((flag) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim()));
    await chown(dir, uid as number, gid as number);
  }
  const dataDir = join(dir, 'data');
  const pgCtl = (...args: string[]) => {
    const [program, argv] = asServerUser(join(bin, 'pg_ctl'), ['-D', dataDir, ...args]);
    return run(program, argv, { timeout: 30_000 });
  };
  live.add(dir);
  const dispose = async () => {
    if (postmasterPid(dataDir)) await pgCtl('stop', '-w', '-t', '30', '-m', 'immediate').catch(() => undefined);
    live.delete(dir);
    await rm(dir, { recursive: true, force: true });
  };

  const start = async () => {
    // Loopback only, the socket in the test's folder, no fsync (the machine does not crash, only the
    // server). Commits stay synchronous: an immediate stop must not lose a commit a client was told of.
    const options = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off`;
    await pgCtl('start', '-w', '-t', '30', '-l', join(dir, 'server.log'), '-o', options);
  };
  const stop = async (mode: ShutdownMode) => {
    await pgCtl('stop', '-w', '-t', '30', '-m', mode);
  };

  try {
    const [program, argv] = asServerUser(join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
    await run(program, argv, { timeout: 60_000 });
    await start();
  } catch (error) {
    await dispose();
    throw error;
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start,
    stop,
    restart: async ({ mode }) => {
      await stop(mode);
      await start();
    },
    dispose,
  };
}
