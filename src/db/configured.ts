import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { z } from 'zod';
import type { Config } from '../config.js';
import { type Database, openDatabase } from './client.js';
import { sqlState } from './sql.js';
import { asQuery } from './statement.js';
import { UNREACHABLE } from './unavailable.js';

/** The configured database cannot be used; its message is one line naming DATABASE_URL. */
export class DatabaseUnavailableError extends Error {}

/**
 * The database the configuration names (DATABASE_URL, else the embedded one in DATA_DIR), migrated.
 * A PostgreSQL server that does not answer, refuses us, or lacks the database throws
 * DatabaseUnavailableError saying what to do, instead of a driver's stack trace.
 */
export async function openConfiguredDatabase(
  config: Pick<Config, 'databaseUrl' | 'databaseRoutes' | 'dataDir'>,
  poolSize: number,
): Promise<Database> {
  if (!config.databaseUrl) {
    const db = await openDatabase({ dataDir: config.dataDir });
    await db.migrate();
    return db;
  }
  const db = await openDatabase({ url: config.databaseUrl, poolSize, ...config.databaseRoutes });
  let mismatch: string | undefined;
  try {
    const directUrl = config.databaseRoutes.directUrl;
    mismatch = directUrl === undefined ? undefined : await directMismatch(db, directUrl);
    if (!mismatch) await db.migrate();
  } catch (error) {
    const problem = whyUnusable(error, 'DATABASE_URL', config.databaseUrl);
    if (!problem) throw error;
    await db.close().catch(() => {});
    throw new DatabaseUnavailableError(problem);
  }
  if (mismatch) {
    await db.close().catch(() => {});
    throw new DatabaseUnavailableError(mismatch);
  }
  return db;
}

const Identity = z.object({ name: z.string(), started: z.string() });
const IDENTITY = sql`select current_database() as name, pg_postmaster_start_time()::text as started`;

/**
 * Why DATABASE_DIRECT_URL is not the database the pooler (DATABASE_URL) leads to, or undefined when
 * it is: migrations and the indexer's lock would otherwise go to another database, unseen. The same
 * database name on the same running server (its start time) is the same database.
 */
async function directMismatch(db: Database, directUrl: string): Promise<string | undefined> {
  // A failure here is the pooler's (DATABASE_URL's), and is said as such by the caller.
  const [pooled] = await db.rows(Identity, IDENTITY);
  const direct = postgres(directUrl, { max: 1, onnotice: () => {}, fetch_types: false });
  try {
    const [reached] = Identity.array().parse(await direct.unsafe(asQuery(IDENTITY).text));
    if (pooled?.name === reached?.name && pooled?.started === reached?.started) return undefined;
    return `DATABASE_DIRECT_URL reaches database "${reached?.name}" (server up since ${reached?.started}), but DATABASE_URL leads to "${pooled?.name}" (server up since ${pooled?.started}): they must be the same database`;
  } catch (error) {
    const problem = whyUnusable(error, 'DATABASE_DIRECT_URL', directUrl);
    if (problem) return problem;
    throw error;
  } finally {
    await direct.end({ timeout: 1 }).catch(() => {});
  }
}

const Answered = z.object({ answered: z.literal(1) });

/**
 * Why the replica (DATABASE_READ_URL) cannot answer now, in one line, or undefined when it answers
 * or there is none. A replica that is down only fails the reads that go to it (listings, usage, the
 * ERC-8004 tools, the catalog search): the start warns instead of refusing, as charges, balances
 * and tasks never wait on it.
 */
export async function replicaProblem(db: Database, config: Pick<Config, 'databaseRoutes'>): Promise<string | undefined> {
  const readUrl = config.databaseRoutes.readUrl;
  if (readUrl === undefined) return undefined;
  try {
    await db.replica.rows(Answered, sql`select 1 as answered`);
    return undefined;
  } catch (error) {
    return whyUnusable(error, 'DATABASE_READ_URL', readUrl) ?? `DATABASE_READ_URL: the replica's first read failed (${describe(error)})`;
  }
}

/** An error's own words without its stack: a driver's message names no secret (the URL's password never reaches it). */
function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** SQLSTATEs that mean this server or database cannot be used as configured. */
const INVALID_CATALOG_NAME = '3D000';
const REFUSED_LOGIN: Record<string, string> = {
  '28P01': 'the password was refused',
  '28000': 'the login was refused',
  '57P03': 'the server is starting or shutting down',
};

function whyUnusable(
  error: unknown,
  setting: 'DATABASE_URL' | 'DATABASE_DIRECT_URL' | 'DATABASE_READ_URL',
  urlText: string,
): string | undefined {
  const url = new URL(urlText);
  const server = `${url.hostname || 'localhost'}:${url.port || '5432'}`;
  const name = decodeURIComponent(url.pathname.slice(1)) || decodeURIComponent(url.username) || 'postgres';
  const state = sqlState(error);
  if (state === INVALID_CATALOG_NAME) {
    const options = [
      url.hostname && `-h ${url.hostname}`,
      url.port && `-p ${url.port}`,
      url.username && `-U ${decodeURIComponent(url.username)}`,
    ];
    return `${setting} names database "${name}", which does not exist on ${server}; create it with: createdb ${[...options.filter(Boolean), name].join(' ')}`;
  }
  if (state && Object.hasOwn(REFUSED_LOGIN, state))
    return `${setting}: PostgreSQL at ${server} refused the connection: ${REFUSED_LOGIN[state]}`;
  for (let current = error; typeof current === 'object' && current !== null; current = (current as { cause?: unknown }).cause) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && Object.hasOwn(UNREACHABLE, code)) {
      return `${setting}: cannot reach PostgreSQL at ${server} (${UNREACHABLE[code]}, ${code}); is it running, and is ${setting} right?`;
    }
  }
  return undefined;
}
