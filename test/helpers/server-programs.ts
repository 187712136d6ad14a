import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/**
 * PostgreSQL servers of a test's own (test/helpers/cluster.ts, replica.ts): the server programs,
 * run as the `postgres` user when the tests run as root, and folders that are cleaned up however
 * the test process ends. Never the machine's PostgreSQL.
 */

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

/** Runs a server program (`initdb`, `pg_ctl`, …); initdb and postgres refuse root, so as root it runs as `postgres`. */
export function runServerProgram(program: string, args: string[], timeoutMs = 30_000): Promise<unknown> {
  const path = join(postgresBin(), program);
  const [command, argv] = process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', path, ...args]] : [path, args];
  return execFileAsync(command, argv, { timeout: timeoutMs });
}

/** The server options every server of ours starts with: loopback only, the socket in its folder, no fsync (the machine does not crash here). */
export function serverOptions(port: number, socketDir: string): string {
  return `-p ${port} -c listen_addresses=127.0.0.1 -k ${socketDir} -c fsync=off`;
}

/** The postmaster's pid of a data folder whose server runs (or did not stop cleanly). */
export function postmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Folders (and their servers' data folders) to clear if the test process exits first: servers stopped at once (SIGQUIT, an immediate shutdown), folders removed. */
const live = new Map<string, string[]>();
process.once('exit', () => {
  for (const [dir, dataDirs] of live) {
    for (const dataDir of dataDirs) {
      const pid = postmasterPid(dataDir);
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

/**
 * A new folder the server user owns, for servers whose data folders are `dataDirs` (under it); it
 * and they are cleared if the test process exits before `remove()`, which stops each server
 * still running (immediate) and removes the folder.
 */
export async function serverFolder(
  prefix: string,
  dataDirNames: string[],
): Promise<{ dir: string; dataDirs: string[]; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  if (process.getuid?.() === 0) {
    const [uid, gid] = ['-u', '-g'].map((flag) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim()));
    await chown(dir, uid as number, gid as number);
  }
  const dataDirs = dataDirNames.map((name) => join(dir, name));
  live.set(dir, dataDirs);
  return {
    dir,
    dataDirs,
    remove: async () => {
      for (const dataDir of dataDirs) {
        if (postmasterPid(dataDir) !== undefined) {
          await runServerProgram('pg_ctl', ['stop', '-D', dataDir, '-w', '-t', '30', '-m', 'immediate']).catch(() => undefined);
        }
      }
      live.delete(dir);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
