import type { Logger } from 'pino';

/** Network failures as Node and postgres.js report them (an AggregateError when every address failed). */
export const UNREACHABLE: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'nothing listens there',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'its host name does not resolve',
  ETIMEDOUT: 'it does not answer',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
  ECONNRESET: 'it closed the connection',
  CONNECT_TIMEOUT: 'it does not answer',
};

/**
 * What else says the server went away mid-statement: a socket written after the peer closed, and
 * postgres.js's codes for a connection the server closed under a query. Not CONNECTION_ENDED: that
 * is our own pool closed (a statement after shutdown, a bug), which no retry mends.
 */
const LOST = new Set(['EPIPE', 'CONNECTION_CLOSED', 'CONNECTION_DESTROYED']);

/**
 * SQLSTATEs of a server that cannot serve now but will: class 08 (connection exception, also what
 * PgBouncer answers when its server connection fails), 57P01 admin_shutdown (a fast shutdown ends
 * every session), 57P02 crash_shutdown (another backend crashed), 57P03 cannot_connect_now (starting
 * up, or in recovery after a crash).
 */
const SERVER_GOING_OR_COMING = new Set(['57P01', '57P02', '57P03']);

/** Seconds a client is told to wait (Retry-After): a restarted or failed-over server is usually back within them. */
export const DATABASE_RETRY_AFTER_S = 2;

/**
 * Errors our database layer threw (src/db/client.ts marks them). A tool's own request (the LLM,
 * an upstream) fails with the same network codes, ECONNREFUSED and the like, and must stay a failed
 * tool, not become "the database is unavailable".
 */
const fromDatabase = new WeakSet<object>();

/** Marks `error` as thrown by a database statement or transaction, and gives it back. */
export function thrownByDatabase<E>(error: E): E {
  if (typeof error === 'object' && error !== null) fromDatabase.add(error);
  return error;
}

/**
 * Whether `error` says the database cannot be reached or is restarting (so the same request may
 * succeed shortly), rather than that a statement is wrong: an error our database layer threw (it,
 * or anything in the cause chain of an error wrapping it) whose code, anywhere in its own cause
 * chain or an AggregateError's errors, says so.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; typeof current === 'object' && current !== null && depth < 20; depth++) {
    if (fromDatabase.has(current)) return saysUnavailable(current);
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** Whether a database error's code, or a code in its causes, is one of an unreachable or restarting server. */
function saysUnavailable(error: object): boolean {
  const pending: unknown[] = [error];
  for (let seen = 0, current = pending.pop(); current !== undefined && seen < 20; seen++, current = pending.pop()) {
    if (typeof current !== 'object' || current === null) continue;
    const { code, cause, errors } = current as { code?: unknown; cause?: unknown; errors?: unknown };
    if (typeof code === 'string') {
      if (Object.hasOwn(UNREACHABLE, code) || LOST.has(code) || SERVER_GOING_OR_COMING.has(code)) return true;
      if (/^08[0-9A-Z]{3}$/.test(code)) return true;
    }
    if (cause !== undefined) pending.push(cause);
    if (Array.isArray(errors)) pending.push(...errors);
  }
  return false;
}

/** One warning per this many milliseconds of an outage: every request fails while it lasts, and the log must stay readable. */
const WARN_EVERY_MS = 10_000;
let lastWarnedAt = Number.NEGATIVE_INFINITY;
let unreported = 0;

/**
 * Logs a request refused, or a background pass cut short, because the database is unavailable: a
 * warning (nothing is wrong with the request or the code) at most once per WARN_EVERY_MS, saying
 * how many went unsaid.
 */
export function warnDatabaseUnavailable(log: Logger, error: unknown): void {
  const now = Date.now();
  if (now - lastWarnedAt < WARN_EVERY_MS) {
    unreported += 1;
    return;
  }
  log.warn(
    { err: error, unreportedSinceLastWarning: unreported },
    'database unavailable: requests are answered 503 database_unavailable, and background work retries, until it is back',
  );
  lastWarnedAt = now;
  unreported = 0;
}
