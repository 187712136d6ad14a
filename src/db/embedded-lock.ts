import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * PGlite is one process's database: a second process opening the same folder would corrupt it.
 * The gateway leaves its pid beside the folder while it runs; tools check it before opening.
 */
const pidFile = (dataDir: string) => `${dataDir}.pid`;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function embeddedDatabaseInUse(dataDir: string): Promise<boolean> {
  const text = await readFile(pidFile(dataDir), 'utf8').catch(() => undefined);
  const pid = Number(text);
  return Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid);
}

export async function claimEmbeddedDatabase(dataDir: string): Promise<() => Promise<void>> {
  if (await embeddedDatabaseInUse(dataDir)) {
    throw new Error(`the embedded database in ${dataDir} is already open in another process`);
  }
  await mkdir(dirname(dataDir), { recursive: true });
  await writeFile(pidFile(dataDir), String(process.pid));
  return () => rm(pidFile(dataDir), { force: true });
}
