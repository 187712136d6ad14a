import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PGlite, types } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import type { z } from 'zod';
import * as schema from '../../drizzle/schema.js';
import { sqlState } from './sql.js';
import { asQuery, asSql, type Statement } from './statement.js';
import { thrownByDatabase } from './unavailable.js';

export type Orm = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface Database {
  readonly kind: 'postgres' | 'pglite';
  readonly orm: Orm;
  /**
   * Runs one statement and returns its rows parsed by `row`, whichever driver is underneath: a
   * column renamed in SQL or a type changed in a migration fails here, by name, instead of
   * travelling on as a wrong value. Row schemas are module constants: zod compiles a schema at its
   * first parse (about 140 µs), so one built inside a function is compiled again at every call.
   */
  rows<Row extends z.ZodType>(row: Row, query: Statement): Promise<z.output<Row>[]>;
  /** Runs one statement whose rows nobody reads. */
  run(query: Statement): Promise<void>;
  /**
   * Where the reads that may lag go: a streaming replica when the database was opened with a
   * `readUrl` (DATABASE_READ_URL), else this database itself; inside a transaction, the transaction
   * (its reads must see its writes). Only the reads listed, with why, in
   * test/architecture/read-routes.test.ts use it; every other statement, money and every read of
   * what the caller has just written included, goes to the primary.
   */
  readonly replica: ReplicaReads;
  /** Runs `work` in one transaction; `tx` is a Database whose statements all belong to it. */
  transaction<T>(work: (tx: Database) => Promise<T>): Promise<T>;
  migrate(): Promise<void>;
  /**
   * Takes the session-level advisory lock `key` on a connection of its own, or answers undefined
   * when another session holds it. The lock lasts until released or until that connection ends (a
   * crashed holder frees it). On PGlite, one process owns the database, so it is always granted.
   */
  tryExclusive(key: number): Promise<ExclusiveLock | undefined>;
  /** The connection pool as this process uses it now, for the operator's metrics. */
  poolUse(): PoolUse;
  /**
   * Subscribes to the notifications sent on `channel` (PostgreSQL's LISTEN) for as long as the
   * database is open. `onState(true)` says the subscription is in place; `onState(false)` that the
   * connection carrying it was lost, and with it every notification sent until the next
   * `onState(true)` (the subscription is re-established on its own). On PostgreSQL every
   * subscription of the process shares one connection of its own, outside the pool, whose
   * application_name is `LISTEN_APPLICATION_NAME` and the process id; on PGlite nothing can be lost.
   */
  listen(channel: string, onNotify: (payload: string) => void, onState: (listening: boolean) => void): void;
  /**
   * Sends `payload` on `channel` as a statement of this transaction (`pg_notify`): other processes
   * receive it only if the transaction commits. This process's own subscribers receive it before
   * this answers (PostgreSQL) or as it commits (PGlite), so a change is seen by the process that
   * made it from its next statement on, not a notification's round trip later.
   */
  notify(channel: string, payload: string): Promise<void>;
  close(): Promise<void>;
}

/** What a read that may lag is given: statements on the replica, and drizzle's query builder over it. */
export type ReplicaReads = Pick<Database, 'rows' | 'orm'>;

/** The application_name (then a space and the process id) of the connection that carries a process's LISTEN subscriptions. */
export const LISTEN_APPLICATION_NAME = 'a2a-paygate listen';

export interface PoolUse {
  /** connections the pool may open */
  size: number;
  /**
   * statements and transactions running, and advisory locks held (each holds a connection): beyond
   * `size`, the rest wait for a connection (or, on PostgreSQL, ride pipelined behind another statement)
   */
  busy: number;
}

export interface ExclusiveLock {
  /** false once the lock's connection is gone (then another session may hold it) */
  stillHeld(): Promise<boolean>;
  release(): Promise<void>;
}

export type DatabaseOptions = PostgresOptions | { dataDir: string } | { memory: true };

export interface PostgresOptions {
  url: string;
  poolSize?: number;
  /**
   * Set when `url` is a transaction-mode pooler (PgBouncer, Supavisor): statements through it are
   * never prepared by name and set no session state, and what needs a session of its own (the
   * migration and indexer advisory locks, LISTEN) goes to this URL of the same database instead.
   */
  directUrl?: string;
  /**
   * A streaming replica of the same database, for `replica` reads. Its pool is as large as the
   * primary's and is reached the same way: with `directUrl` set (the primary is behind a transaction
   * pooler), nothing is prepared by name on the replica either, as a deployment that pools one
   * usually pools both.
   */
  readUrl?: string;
}

/** One statement's rows as the driver gives them. */
type RawStatement = (query: Statement) => Promise<unknown[]>;

/** A row the statement returned that its schema refuses: a query and its schema disagree. */
export class RowShapeError extends Error {
  constructor(issues: z.core.$ZodIssue[]) {
    // The issues name paths and expected types, never the values, which may be secrets.
    super(`a row did not match its schema: ${issues.map((issue) => `${issue.path.join('.') || '(row)'}: ${issue.message}`).join('; ')}`);
    this.name = 'RowShapeError';
  }
}

function parsedRows<Row extends z.ZodType>(row: Row, raw: unknown[]): z.output<Row>[] {
  return raw.map((value) => {
    const parsed = row.safeParse(value);
    if (!parsed.success) throw new RowShapeError(parsed.error.issues);
    return parsed.data;
  });
}

/** `rows` and `run` over a driver's raw statement. */
function statements(raw: RawStatement): Pick<Database, 'rows' | 'run'> {
  const marked: RawStatement = (query) => raw(query).catch((error: unknown) => Promise.reject(thrownByDatabase(error)));
  return {
    rows: async (row, query) => parsedRows(row, await marked(query)),
    run: async (query) => {
      await marked(query);
    },
  };
}

/** postgres.js answers with an array of rows, PGlite with `{ rows }`. */
function rowsOf(result: unknown): unknown[] {
  return Array.isArray(result) ? withoutHoles(result) : (result as { rows: unknown[] }).rows;
}

/**
 * postgres.js 3.4 counts a statement's rows per connection and resets the count only when a
 * statement completes: one that fails after sending rows (a deadlock victim mid-insert, an error on
 * a row) leaves it set, and the next statement on that connection answers a sparse array, its rows
 * after that many holes (porsager/postgres#1119, #1181, open). No row is lost or overwritten, and
 * rows are never undefined, so dropping the holes gives the statement's own rows.
 */
function withoutHoles(rows: unknown[]): unknown[] {
  return rows.length > 0 && !(0 in rows) ? rows.filter(() => true) : rows;
}

/** What a driver adds to its statements: the same for the database and for each transaction on it. */
interface DriverParts extends Pick<Database, 'migrate' | 'close' | 'tryExclusive' | 'poolUse' | 'listen'> {
  /** hands a notification this process sent to its own subscribers, where the driver does not */
  echo(channel: string, payload: string): void;
}

/** `notify` over a database's (or a transaction's) `run`. */
function notifier(run: Database['run'], echo: DriverParts['echo']): Database['notify'] {
  return async (channel, payload) => {
    await run(sql`select pg_notify(${channel}, ${payload})`);
    echo(channel, payload);
  };
}

/** `database` with its `replica`: `reads` when given, else the database itself. */
function withReplica(database: Omit<Database, 'replica'>, reads?: ReplicaReads): Database {
  return Object.assign(database, { replica: reads ?? database });
}

function withTransactions(kind: Database['kind'], orm: Orm, parts: DriverParts): Database {
  const { echo, ...rest } = parts;
  const own = statements(async (query) => rowsOf(await orm.execute(asSql(query))));
  // A transaction's replica is the transaction itself: reads in it must see what it wrote.
  return withReplica({
    kind,
    orm,
    ...own,
    notify: notifier(own.run, echo),
    transaction: (work) => orm.transaction((tx) => work(withTransactions(kind, tx as unknown as Orm, parts))),
    ...rest,
  });
}

const migrationsFolder = fileURLToPath(new URL('../../migrations', import.meta.url));
// Any constant works; it only has to be the same for every instance migrating one database.
const MIGRATION_LOCK_KEY = 0x0a2a_9a7e;

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const size = 'url' in options ? (options.poolSize ?? 10) : 1;
  let busy = 0;
  const poolUse = () => ({ size, busy });
  const { db, raw, echo, replica } = 'url' in options ? openPostgres(options, size, poolUse) : await openPglite(options, poolUse);
  const counted = async <T>(work: () => Promise<T>): Promise<T> => {
    busy += 1;
    try {
      return await work();
    } finally {
      busy -= 1;
    }
  };
  const own = statements((query) => counted(() => retryDeadlocks(() => raw(query))));
  const database: Omit<Database, 'replica'> = {
    ...db,
    ...own,
    notify: notifier(own.run, echo),
    transaction: (work) => {
      // What `work` threw is its own (its statements' errors are marked already); anything else,
      // BEGIN or a COMMIT the server never answered, is the database's.
      let thrownByWork: unknown;
      const marked = async (tx: Database) => {
        try {
          return await work(tx);
        } catch (error) {
          thrownByWork = error;
          throw error;
        }
      };
      return counted(() => db.transaction(marked)).catch((error: unknown) =>
        Promise.reject(error === thrownByWork ? error : thrownByDatabase(error)),
      );
    },
    tryExclusive: async (key) => {
      const lock = await db.tryExclusive(key);
      if (!lock) return undefined;
      // The lock's connection is out of the pool until it is released.
      busy += 1;
      let released = false;
      return {
        stillHeld: lock.stillHeld,
        release: async () => {
          if (!released) busy -= 1;
          released = true;
          await lock.release();
        },
      };
    },
  };
  // Reads on the replica are not counted in poolUse: that says how busy the primary's pool is, the
  // one money waits for, and the replica's connections are another server's.
  return withReplica(database, replica);
}

/**
 * Runs at most `connections` pieces of work at once, the rest in arrival order after them.
 */
function connectionGate(connections: number): <T>(work: () => PromiseLike<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (work) => {
    if (running >= connections) await new Promise<void>((resolve) => waiting.push(resolve));
    else running += 1;
    try {
      return await work();
    } finally {
      const next = waiting.shift();
      // the slot passes straight to the next in line, so `running` never drops under it
      if (next) next();
      else running -= 1;
    }
  };
}

/**
 * `pool`, sending no statement while all its connections are busy (behind a transaction pooler).
 * postgres.js sends a statement on a connection still busy with another when it has no idle one
 * (pipelining). PgBouncer 1.18 hands the server connection to another client at the first
 * statement's ReadyForQuery, and the answers to those sent behind it reach nobody: their callers
 * wait forever. With no more statements and transactions under way than connections, postgres.js
 * always finds an idle one. Its `max_pipeline: 0` would do the same, but also stops `begin` from
 * reserving its connection. Statements in a transaction run on its reserved connection, ungated.
 */
function oneStatementPerConnection(pool: Pool, connections: number): Pool {
  const gate = connectionGate(connections);
  return new Proxy(pool, {
    get(target, property, receiver) {
      if (property === 'begin') return (...args: unknown[]) => gate(() => (target.begin as (...a: unknown[]) => Promise<unknown>)(...args));
      if (property !== 'unsafe') return Reflect.get(target, property, receiver);
      return (...args: Parameters<Pool['unsafe']>) => gatedQuery(target.unsafe(...args), gate);
    },
  });
}

/**
 * A postgres.js query (sent when first awaited) that is sent once `gate` lets it; drizzle's
 * `.values()` (rows as arrays) is kept on it.
 */
function gatedQuery<Q extends PromiseLike<unknown> & { values(): unknown }>(query: Q, gate: ReturnType<typeof connectionGate>): Q {
  let sent: Promise<unknown> | undefined;
  const answer = () => {
    sent ??= gate(() => query);
    return sent;
  };
  const gated: Q = new Proxy(query, {
    get(target, property) {
      if (property === 'then')
        return (onAnswer?: (value: unknown) => unknown, onError?: (error: unknown) => unknown) => answer().then(onAnswer, onError);
      if (property === 'catch') return (onError?: (error: unknown) => unknown) => answer().catch(onError);
      if (property === 'finally') return (onEnd?: () => void) => answer().finally(onEnd);
      if (property === 'values') {
        return () => {
          target.values();
          return gated;
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return gated;
}

/** How often one statement that PostgreSQL aborted as a deadlock victim is run again. */
const DEADLOCK_RETRIES = 3;
const DEADLOCK_DETECTED = '40P01';

/**
 * `db.rows` outside a transaction is one autocommit statement: when PostgreSQL aborts it as a
 * deadlock victim none of it was applied, so running it again is safe. (A retried messageId's
 * reserve holds the account row and waits on the unique-index entry that the original task's
 * capture has just written, while that capture waits for the account row.) Statements inside
 * `db.transaction` are not retried: there the whole transaction is aborted.
 */
async function retryDeadlocks<T>(statement: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await statement();
    } catch (error) {
      if (attempt >= DEADLOCK_RETRIES || sqlState(error) !== DEADLOCK_DETECTED) throw error;
    }
  }
}

/** A database and its autocommit statement, which openDatabase wraps with the deadlock retry. */
interface Opened {
  db: Database;
  raw: RawStatement;
  echo: DriverParts['echo'];
  /** the replica's reads, when the database has one of its own (a readUrl) */
  replica?: ReplicaReads;
}

/**
 * How long a connection waits before its next attempt after `attempt` failed ones, in seconds.
 * postgres.js's default grows to 20 s, so a database back after an outage would stay unused for up
 * to that long; capped at one second, the pool is back within a second of the server (ADR 0025).
 */
export function reconnectDelaySeconds(attempt: number): number {
  return Math.min(0.05 * 2 ** attempt, 1);
}

/** Options every connection of ours shares, pooled or direct. */
const CONNECTION_DEFAULTS = {
  onnotice: () => {},
  backoff: reconnectDelaySeconds,
  // Keep int8 and numeric as strings: money is parsed to bigint by us, never through a float.
  types: { bigint: postgres.BigInt },
} as const;

type Pool = postgres.Sql<{ bigint: bigint }>;

/** The pool our statements run on: the primary's, or the replica's. */
function statementPool(url: string, poolSize: number, pooled: boolean): Pool {
  const pool = postgres(url, {
    ...CONNECTION_DEFAULTS,
    max: poolSize,
    // A transaction pooler hands each transaction whichever server connection is free: a statement
    // prepared on one is unknown on the next, and PgBouncer 1.18 refuses startup parameters it does
    // not know (every connection would be refused).
    prepare: !pooled,
    connection: pooled
      ? {}
      : {
          // Our statements are index lookups whose best plan does not depend on the values. Left to
          // choose, PostgreSQL re-plans those with a `limit $n` on every execution (the generic plan's
          // row estimate looks dearer), which cost a quarter of its CPU under load.
          plan_cache_mode: 'force_generic_plan',
        },
  });
  return pooled ? oneStatementPerConnection(pool, poolSize) : pool;
}

/**
 * One statement on `client`. drizzle's execute() never prepares, so every statement would cost a
 * parse, a plan and an extra round trip; postgres.js keeps named prepared statements per connection
 * when asked to (not behind a transaction pooler, where the next statement may run on another
 * server connection).
 */
function poolStatement(client: Pool, pooled: boolean): RawStatement {
  return async (query) => {
    const { text, params } = asQuery(query);
    return withoutHoles(await client.unsafe(text, params as postgres.ParameterOrJSON<never>[], { prepare: !pooled }));
  };
}

function openPostgres(options: PostgresOptions, poolSize: number, poolUse: () => PoolUse): Opened {
  const pooled = options.directUrl !== undefined;
  const client = statementPool(options.url, poolSize, pooled);
  // Connects at its first read: a replica that is down when the gateway starts fails those reads
  // only, never a charge.
  const readClient = options.readUrl === undefined ? undefined : statementPool(options.readUrl, poolSize, pooled);
  // Sessions of our own (advisory locks): the pool itself, or beside the pooler, a small pool on
  // the direct URL (the indexer's lock holds one connection for as long as it runs).
  const sessions = pooled ? postgres(options.directUrl as string, { ...CONNECTION_DEFAULTS, max: 3 }) : client;
  const orm = drizzlePostgres(client, { schema }) as unknown as Orm;
  const subscriptions = postgresSubscriptions(options.directUrl ?? options.url);
  const database = withTransactions('postgres', orm, {
    listen: subscriptions.listen,
    echo: subscriptions.deliver,
    migrate: async () => {
      // Two instances starting on one database must not both apply the same migration.
      const lockHolder = await sessions.reserve();
      try {
        await lockHolder`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
        await migratePostgres(drizzlePostgres(sessions, { schema }), { migrationsFolder });
      } finally {
        await lockHolder`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`;
        lockHolder.release();
      }
    },
    tryExclusive: async (key) => {
      const holder = await sessions.reserve();
      try {
        const [row] = await holder<{ held: boolean }[]>`select pg_try_advisory_lock(${key}) as held`;
        if (!row?.held) {
          holder.release();
          return undefined;
        }
      } catch (error) {
        holder.release();
        throw error;
      }
      return {
        stillHeld: async () => {
          try {
            const [row] = await holder<{ held: boolean }[]>`
              select exists (select 1 from pg_locks where locktype = 'advisory' and objid = ${key} and pid = pg_backend_pid() and granted) as held`;
            return row?.held === true;
          } catch {
            return false;
          }
        },
        release: async () => {
          try {
            await holder`select pg_advisory_unlock(${key})`;
          } catch {
            // the connection is gone, and the lock with it
          } finally {
            holder.release();
          }
        },
      };
    },
    close: async () => {
      await subscriptions.close();
      await client.end({ timeout: 5 });
      if (sessions !== client) await sessions.end({ timeout: 5 });
      await readClient?.end({ timeout: 5 });
    },
    poolUse,
  });
  return {
    db: database,
    echo: subscriptions.deliver,
    raw: poolStatement(client, pooled),
    replica: readClient && {
      rows: statements(poolStatement(readClient, pooled)).rows,
      orm: drizzlePostgres(readClient, { schema }) as unknown as Orm,
    },
  };
}

async function openPglite(options: { dataDir: string } | { memory: true }, poolUse: () => PoolUse): Promise<Opened> {
  // PGlite gives int8 as a number when it fits a double; money must stay bigint on both drivers.
  const parsers = { [types.INT8]: (value: string) => BigInt(value) };
  let client: PGlite;
  if ('dataDir' in options) {
    mkdirSync(options.dataDir, { recursive: true });
    client = await PGlite.create({ dataDir: options.dataDir, parsers });
  } else {
    client = await PGlite.create({ parsers });
  }
  const orm = drizzlePglite(client, { schema }) as unknown as Orm;
  // PGlite delivers a notification to its listeners as the transaction that sent it commits, before
  // the statement's answer: the process's own subscribers need nothing more.
  const echo = () => {};
  const db = withTransactions('pglite', orm, {
    listen: (channel, onNotify, onState) => {
      client.listen(channel, onNotify).then(
        () => onState(true),
        // Stryker disable next-line all: LISTEN on an open PGlite does not fail; a closed one has nothing left to tell
        () => {},
      );
    },
    echo,
    migrate: () => migratePglite(drizzlePglite(client, { schema }), { migrationsFolder }),
    tryExclusive: async () => ({ stillHeld: async () => !client.closed, release: async () => {} }),
    close: () => client.close(),
    poolUse,
  });
  return { db, raw: async (query) => rowsOf(await orm.execute(asSql(query))), echo };
}

/** How long after a failed LISTEN (the server unreachable) the connection is tried again. */
const RELISTEN_DELAY_MS = 1_000;

interface Subscriber {
  onNotify(payload: string): void;
  onState(listening: boolean): void;
}

/**
 * The process's LISTEN subscriptions on PostgreSQL, on one connection of their own. postgres.js's
 * `sql.listen` re-listens after a lost connection but never says it was lost, and notifications
 * sent in between are gone: a subscriber that caches must know. So the connection is ours: its
 * `onclose` tells every subscriber `false`, then LISTEN is sent again (the query reconnects,
 * every RELISTEN_DELAY_MS while the server is unreachable) and, once every channel is listened to
 * on one and the same connection, every subscriber is told `true`.
 */
function postgresSubscriptions(url: string) {
  const subscribers = new Map<string, Set<Subscriber>>();
  let listening = false;
  let closed = false;
  /** how many times the connection was lost: LISTENs sent across a loss are sent again */
  let losses = 0;
  let establishing = false;
  let retry: NodeJS.Timeout | undefined;
  const everyone = () => [...subscribers.values()].flatMap((set) => [...set]);

  // `onnotify` is the option postgres.js's own `listen` is built on; its types leave it out.
  const notifications = { onnotify: (channel: string, payload: string) => deliver(channel, payload) } as object;
  const connection = postgres(url, {
    max: 1,
    max_lifetime: null,
    fetch_types: false,
    onnotice: () => {},
    backoff: reconnectDelaySeconds,
    connection: { application_name: `${LISTEN_APPLICATION_NAME} ${process.pid}` },
    ...notifications,
    onclose: () => {
      losses += 1;
      // A connection that never listened (a failed attempt, or one lost while LISTEN was being
      // sent) is retried by `establish` itself.
      if (closed || !listening) return;
      listening = false;
      for (const subscriber of everyone()) subscriber.onState(false);
      void establish();
    },
  });

  function deliver(channel: string, payload: string) {
    for (const subscriber of subscribers.get(channel) ?? []) subscriber.onNotify(payload);
  }

  async function establish(): Promise<void> {
    if (establishing || closed) return;
    establishing = true;
    clearTimeout(retry);
    try {
      for (;;) {
        const lossesBefore = losses;
        for (const channel of subscribers.keys()) await connection`listen ${connection(channel)}`;
        if (losses === lossesBefore) break;
      }
      listening = true;
      for (const subscriber of everyone()) subscriber.onState(true);
    } catch {
      // Unreachable or refused: the subscribers already know they are not listening.
      if (!closed) retry = setTimeout(() => void establish(), RELISTEN_DELAY_MS);
    } finally {
      establishing = false;
    }
  }

  return {
    listen(channel: string, onNotify: Subscriber['onNotify'], onState: Subscriber['onState']) {
      const set = subscribers.get(channel) ?? new Set<Subscriber>();
      subscribers.set(channel, set.add({ onNotify, onState }));
      // Listening again on every channel is harmless and rare (a subscription is made at start-up);
      // the new subscriber hears `true` with the others once its channel is listened to (a LISTEN
      // under way reaches the new channel too: a Map's iteration sees keys added meanwhile).
      void establish();
    },
    deliver,
    close: async () => {
      closed = true;
      clearTimeout(retry);
      await connection.end({ timeout: 0 });
    },
  };
}
