import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { type Database, openDatabase, type PostgresOptions } from '../../src/db/client.js';

export interface TestDatabase {
  readonly db: Database;
  /** set on PostgreSQL: the fresh database's own URL (the pooler's, in a pooled run), for child processes */
  readonly url: string | undefined;
  /** the settings a child process (a gateway, the admin CLI) reaches this database with; empty on PGlite */
  readonly env: Record<string, string>;
  dispose(): Promise<void>;
}

/**
 * The PostgreSQL server the suites run on: DATABASE_URL, unset for the embedded run. With
 * DATABASE_POOLER=transaction, DATABASE_URL is a transaction pooler and DATABASE_DIRECT_URL the
 * server behind it (CI's pooled run, .ci/pgbouncer): suites' databases are made and dropped on the
 * direct URL, and everything else reaches them through the pooler, as a pooled deployment does.
 */
export function testServer(): { url: string; directUrl?: string } | undefined {
  const url = process.env.DATABASE_URL;
  if (!url) return undefined;
  if (process.env.DATABASE_POOLER !== 'transaction') return { url };
  const directUrl = process.env.DATABASE_DIRECT_URL;
  if (!directUrl) throw new Error('DATABASE_POOLER=transaction needs DATABASE_DIRECT_URL (the server behind the pooler)');
  return { url, directUrl };
}

/** True in CI's pooled run: statements go through a transaction pooler and are never prepared by name. */
export const POOLED = process.env.DATABASE_URL !== undefined && process.env.DATABASE_POOLER === 'transaction';

/** `url` with its database name replaced. */
function onDatabase(url: string, name: string): string {
  const named = new URL(url);
  named.pathname = `/${name}`;
  return named.toString();
}

/**
 * How to open the database `name` on the test server, pooled or not, and the same as environment
 * settings for a child process.
 */
export function routesTo(name: string): { options: PostgresOptions; env: Record<string, string> } {
  const server = testServer();
  if (!server) throw new Error('routesTo needs DATABASE_URL');
  const url = onDatabase(server.url, name);
  if (!server.directUrl) return { options: { url }, env: { DATABASE_URL: url } };
  const directUrl = onDatabase(server.directUrl, name);
  return {
    options: { url, directUrl },
    env: { DATABASE_URL: url, DATABASE_POOLER: 'transaction', DATABASE_DIRECT_URL: directUrl },
  };
}

/**
 * A fresh, migrated database for one suite: a new PostgreSQL database on the server named by
 * DATABASE_URL when it is set, an in-memory PGlite otherwise.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  if (!testServer()) {
    const db = await openDatabase({ memory: true });
    await db.migrate();
    return { db, url: undefined, env: {}, dispose: () => db.close() };
  }
  const empty = await createEmptyPostgresDatabase();
  const db = await openDatabase({ ...empty.routes.options, poolSize: 20 });
  await db.migrate();
  return {
    db,
    url: empty.url,
    env: empty.routes.env,
    dispose: async () => {
      await db.close();
      await empty.dispose();
    },
  };
}

/**
 * A new database on the test server, as `createdb` makes it: no tables yet. Made and dropped on the
 * server itself (the direct URL in a pooled run); `url` and `routes` reach it as the suite runs.
 */
export async function createEmptyPostgresDatabase(): Promise<{
  url: string;
  name: string;
  routes: ReturnType<typeof routesTo>;
  dispose(): Promise<void>;
}> {
  const server = testServer();
  if (!server) throw new Error('createEmptyPostgresDatabase needs DATABASE_URL');
  const name = `paygate_test_${randomBytes(6).toString('hex')}`;
  const admin = postgres(server.directUrl ?? server.url, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const routes = routesTo(name);
  return {
    url: routes.options.url,
    name,
    routes,
    dispose: async () => {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}

/** The name of the database a test server URL names. */
function databaseName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.slice(1));
}

/** How this process opens the test database `url` (a TestDatabase's `url`), pooled or not. */
export function databaseOptions(url: string): PostgresOptions {
  return routesTo(databaseName(url)).options;
}

/** The environment settings a child process reaches the test database `url` with, pooled or not. */
export function databaseEnv(url: string): Record<string, string> {
  return routesTo(databaseName(url)).env;
}
