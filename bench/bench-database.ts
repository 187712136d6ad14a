import { randomBytes } from 'node:crypto';
import postgres from 'postgres';

export interface BenchDatabase {
  /** the fresh database's own URL */
  readonly url: string;
  readonly name: string;
  /** `select version()` of the server */
  readonly serverVersion: string;
  drop(): Promise<void>;
}

/** A new, empty database on the server `serverUrl` names; `drop()` removes it (idempotent). */
export async function createBenchDatabase(serverUrl: string): Promise<BenchDatabase> {
  const name = `paygate_bench_${randomBytes(6).toString('hex')}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  try {
    const [row] = await admin<{ version: string }[]>`select version()`;
    await admin.unsafe(`create database ${name}`);
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    let dropped = false;
    return {
      url: url.toString(),
      name,
      serverVersion: row?.version ?? 'unknown',
      async drop() {
        if (dropped) return;
        dropped = true;
        try {
          await admin.unsafe(`drop database if exists ${name} with (force)`);
        } finally {
          await admin.end();
        }
      },
    };
  } catch (error) {
    await admin.end();
    throw error;
  }
}
