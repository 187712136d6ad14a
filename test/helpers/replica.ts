import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { freePort } from './loopback.js';

const run = promisify(execFile);

/**
 * A primary and its hot standby, of the test's own: a throwaway cluster on a free loopback port,
 * copied with pg_basebackup into a second one on another port that streams the primary's WAL. The
 * test holds the standby back (pauseReplay) to see which reads lag. Never the machine's PostgreSQL.
 */
export interface StreamingReplica {
  /** postgres://postgres@127.0.0.1:<port>/postgres (trust authentication) */
  readonly primaryUrl: string;
  /** the standby's URL: read-only, as far along as it has replayed */
  readonly standbyUrl: string;
  /** resolves once the standby has replayed everything the primary had written when called */
  caughtUp(): Promise<void>;
  /** stops applying WAL on the standby (it keeps receiving it); resolves once replay has stopped */
  pauseReplay(): Promise<void>;
  /** applies WAL again; resolves once the standby has caught up */
  resumeReplay(): Promise<void>;
  /** stops both servers and removes their folders */
  dispose(): Promise<void>;
}

/** How long the standby may take to catch up with a few statements' WAL on one machine. */
const CATCH_UP_MS = 10_000;

/** The newest PostgreSQL server installed the Debian way (initdb, pg_ctl, pg_basebackup). */
function postgresBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((name) => existsSync(join(root, name, 'bin', 'pg_basebackup')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) throw new Error(`no PostgreSQL server binaries under ${root} (initdb, pg_ctl, pg_basebackup)`);
  return join(root, versions[0] as string, 'bin');
}

/** initdb and postgres refuse to run as root: as root, the server's programs run as the `postgres` user. */
function asServerUser(program: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', program, ...args]] : [program, args];
}

/** Folders whose servers may still run: stopped at once (SIGQUIT, an immediate shutdown) and removed if the test process exits first. */
const live = new Set<string>();
process.once('exit', () => {
  for (const dir of live) {
    for (const server of ['primary', 'standby']) {
      const pid = postmasterPid(join(dir, server));
      if (pid === undefined) continue;
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

export async function startStreamingReplica(): Promise<StreamingReplica> {
  const bin = postgresBin();
  const [primaryPort, standbyPort] = [await freePort(), await freePort()];
  const dir = await mkdtemp(join(tmpdir(), 'paygate-replica-'));
  // pg_basebackup runs as the server user too, and needs to create the standby's folder.
  if (process.getuid?.() === 0) {
    const [uid, gid] = ['-u', '-g'].map((flag) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim()));
    await chown(dir, uid as number, gid as number);
  }
  live.add(dir);
  const server = (program: string, args: string[], timeout = 30_000) => {
    const [command, argv] = asServerUser(join(bin, program), args);
    return run(command, argv, { timeout });
  };
  // Loopback only, the sockets in the test's folder, no fsync: the machine does not crash here.
  const start = (name: string, port: number) =>
    server('pg_ctl', [
      'start',
      '-D',
      join(dir, name),
      '-w',
      '-t',
      '30',
      '-l',
      join(dir, `${name}.log`),
      '-o',
      `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off`,
    ]);
  const primaryUrl = `postgres://postgres@127.0.0.1:${primaryPort}/postgres`;
  const standbyUrl = `postgres://postgres@127.0.0.1:${standbyPort}/postgres`;
  const primary = postgres(primaryUrl, { max: 1, onnotice: () => {} });
  const standby = postgres(standbyUrl, { max: 1, onnotice: () => {} });

  const dispose = async () => {
    await Promise.all([primary.end({ timeout: 1 }), standby.end({ timeout: 1 })]);
    for (const name of ['standby', 'primary']) {
      if (postmasterPid(join(dir, name)) !== undefined) {
        await server('pg_ctl', ['stop', '-D', join(dir, name), '-w', '-t', '30', '-m', 'immediate']).catch(() => undefined);
      }
    }
    live.delete(dir);
    await rm(dir, { recursive: true, force: true });
  };

  const caughtUp = async () => {
    const [written] = await primary<{ lsn: string }[]>`select pg_current_wal_lsn()::text as lsn`;
    if (!written) throw new Error('the primary did not say where its WAL ends');
    const deadline = Date.now() + CATCH_UP_MS;
    for (;;) {
      const [replayed] = await standby<{ done: boolean }[]>`select pg_last_wal_replay_lsn() >= ${written.lsn}::pg_lsn as done`;
      if (replayed?.done) return;
      if (Date.now() > deadline)
        throw new Error(`the standby did not replay the primary's WAL up to ${written.lsn} within ${CATCH_UP_MS} ms`);
      await delay(10);
    }
  };

  try {
    // initdb's pg_hba.conf with --auth=trust trusts loopback replication connections too; the
    // defaults (wal_level=replica, max_wal_senders=10, hot_standby=on) make a streaming standby.
    await server('initdb', ['-D', join(dir, 'primary'), '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8'], 60_000);
    await start('primary', primaryPort);
    // -R writes standby.signal and primary_conninfo; -X stream copies the WAL written meanwhile.
    await server(
      'pg_basebackup',
      [
        '-D',
        join(dir, 'standby'),
        '-h',
        '127.0.0.1',
        '-p',
        String(primaryPort),
        '-U',
        'postgres',
        '-R',
        '-X',
        'stream',
        '-c',
        'fast',
        '--no-sync',
      ],
      60_000,
    );
    await start('standby', standbyPort);
    await caughtUp();
  } catch (error) {
    await dispose();
    throw error;
  }

  return {
    primaryUrl,
    standbyUrl,
    caughtUp,
    pauseReplay: async () => {
      await standby`select pg_wal_replay_pause()`;
      const deadline = Date.now() + CATCH_UP_MS;
      for (;;) {
        const [state] = await standby<{ paused: boolean }[]>`select pg_get_wal_replay_pause_state() = 'paused' as paused`;
        if (state?.paused) return;
        if (Date.now() > deadline) throw new Error(`the standby's replay did not pause within ${CATCH_UP_MS} ms`);
        await delay(10);
      }
    },
    resumeReplay: async () => {
      await standby`select pg_wal_replay_resume()`;
      await caughtUp();
    },
    dispose,
  };
}
