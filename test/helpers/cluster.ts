import { join } from 'node:path';
import { freePort } from './loopback.js';
import { runServerProgram, serverFolder, serverOptions } from './server-programs.js';

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

export async function startOwnPostgres(): Promise<OwnPostgres> {
  const port = await freePort();
  const folder = await serverFolder('paygate-postgres-', ['data']);
  const dataDir = folder.dataDirs[0] as string;
  const pgCtl = (...args: string[]) => runServerProgram('pg_ctl', ['-D', dataDir, ...args]);
  const dispose = folder.remove;
  const start = async () => {
    // Commits stay synchronous: an immediate stop must not lose a commit a client was told of.
    await pgCtl('start', '-w', '-t', '30', '-l', join(folder.dir, 'server.log'), '-o', serverOptions(port, folder.dir));
  };
  const stop = async (mode: ShutdownMode) => {
    await pgCtl('stop', '-w', '-t', '30', '-m', mode);
  };

  try {
    await runServerProgram('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8'], 60_000);
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
