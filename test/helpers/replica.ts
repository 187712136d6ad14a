import { setTimeout as delay } from 'node:timers/promises';
import postgres from 'postgres';
import { freePort } from './loopback.js';
import { runServerProgram, serverFolder, serverOptions } from './server-programs.js';

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

export async function startStreamingReplica(): Promise<StreamingReplica> {
  const [primaryPort, standbyPort] = [await freePort(), await freePort()];
  // pg_basebackup runs as the server user too, and creates the standby's folder in this one.
  const folder = await serverFolder('paygate-replica-', ['primary', 'standby']);
  const [primaryDir, standbyDir] = folder.dataDirs as [string, string];
  const start = (dataDir: string, port: number) =>
    runServerProgram('pg_ctl', ['start', '-D', dataDir, '-w', '-t', '30', '-l', `${dataDir}.log`, '-o', serverOptions(port, folder.dir)]);
  const primaryUrl = `postgres://postgres@127.0.0.1:${primaryPort}/postgres`;
  const standbyUrl = `postgres://postgres@127.0.0.1:${standbyPort}/postgres`;
  const primary = postgres(primaryUrl, { max: 1, onnotice: () => {} });
  const standby = postgres(standbyUrl, { max: 1, onnotice: () => {} });

  const dispose = async () => {
    await Promise.all([primary.end({ timeout: 1 }), standby.end({ timeout: 1 })]);
    await folder.remove();
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
    await runServerProgram('initdb', ['-D', primaryDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8'], 60_000);
    await start(primaryDir, primaryPort);
    // -R writes standby.signal and primary_conninfo; -X stream copies the WAL written meanwhile.
    await runServerProgram(
      'pg_basebackup',
      ['-D', standbyDir, '-h', '127.0.0.1', '-p', String(primaryPort), '-U', 'postgres', '-R', '-X', 'stream', '-c', 'fast', '--no-sync'],
      60_000,
    );
    await start(standbyDir, standbyPort);
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
