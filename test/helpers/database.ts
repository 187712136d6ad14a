import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { type Database, openDatabase } from '../../src/db/client.js';

export interface TestDatabase {
  readonly db: Database;
  /** set on PostgreSQL: the fresh database's own URL, for child processes */
  readonly url: string | undefined;
  dispose(): Promise<void>;
}

/**
 * A fresh, migrated database for one suite: a new PostgreSQL database on the server named by
 * DATABASE_URL when it is set, an in-memory PGlite otherwise.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    const db = await openDatabase({ memory: true });
    await db.migrate();
    return { db, url: undefined, dispose: () => db.close() };
  }
  const empty = await createEmptyPostgresDatabase(serverUrl);
  const db = await openDatabase({ url: empty.url, poolSize: 20 });
  await db.migrate();
  return {
    db,
    url: empty.url,
    dispose: async () => {
      await db.close();
      await empty.dispose();
    },
  };
}

/** A new database on the server named by `serverUrl`, as `createdb` makes it: no tables yet. */
export async function createEmptyPostgresDatabase(serverUrl: string): Promise<{ url: string; name: string; dispose(): Promise<void> }> {
  const name = `paygate_test_${randomBytes(6).toString('hex')}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    dispose: async () => {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}
