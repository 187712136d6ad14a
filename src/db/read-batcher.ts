import type { z } from 'zod';
import type { Database } from './client.js';
import type { Statement } from './statement.js';

/**
 * Reads of one kind, many at once, as ONE statement: PostgreSQL parses, plans and answers one
 * statement instead of one per read, and both sides write, read and wake up once per group (the
 * bench's profile had a sixth of the gateway's CPU in writing statements to the socket).
 *
 * At most `inFlight` statements run at once; reads that arrive while they run wait and go
 * together in the next one, as the charge combiner does for charges (tasks/charge-combiner.ts). A
 * read that finds a free slot goes at once, so grouping adds no wait while the database keeps up.
 */
export interface ReadBatcher<Request, Answer> {
  /** The answer to `request`, or undefined when the statement returned no row for it. */
  read(request: Request): Promise<Answer | undefined>;
}

/**
 * Read statements running at once per kind of read. More than the charge combiner's two: a read
 * holds no lock, and a pool of ten connections serves both.
 */
export const READS_IN_FLIGHT = 4;
/** Bounds one read statement's parameter and answer. */
export const MAX_READS_PER_STATEMENT = 50;

export interface ReadBatch<Request, Row extends z.ZodType<{ n: number }>> {
  /** Each row carries `n`, the 1-based place of the request it answers in `requests`; at most one row per request. */
  row: Row;
  statement(requests: readonly Request[]): Statement;
  /** statements running at once */
  inFlight: number;
  /** requests in one statement at most */
  maxRequests: number;
}

interface Waiting<Request, Answer> {
  request: Request;
  resolve(answer: Answer | undefined): void;
  reject(error: unknown): void;
}

export function createReadBatcher<Request, Row extends z.ZodType<{ n: number }>>(
  db: Database,
  batch: ReadBatch<Request, Row>,
): ReadBatcher<Request, z.output<Row>> {
  const pending: Waiting<Request, z.output<Row>>[] = [];
  let running = 0;

  async function run(group: Waiting<Request, z.output<Row>>[]): Promise<void> {
    try {
      const rows = await db.rows(batch.row, batch.statement(group.map((entry) => entry.request)));
      const byPlace = new Map(rows.map((row) => [row.n, row]));
      group.forEach((entry, index) => {
        entry.resolve(byPlace.get(index + 1));
      });
    } catch (error) {
      // A read has no part of its own that could make the statement fail (its values are checked
      // before it gets here): a failure is the database's, and every read of the group shares it.
      for (const entry of group) entry.reject(error);
    }
  }

  async function drain(): Promise<void> {
    running += 1;
    while (pending.length > 0) await run(pending.splice(0, batch.maxRequests));
    running -= 1;
  }

  return {
    read: (request) =>
      new Promise((resolve, reject) => {
        pending.push({ request, resolve, reject });
        if (running < batch.inFlight) void drain();
      }),
  };
}

/** One batcher per database and kind of read, made at its first use. */
export function perDatabase<Batcher>(make: (db: Database) => Batcher): (db: Database) => Batcher {
  const made = new WeakMap<Database, Batcher>();
  return (db) => {
    let batcher = made.get(db);
    if (!batcher) {
      batcher = make(db);
      made.set(db, batcher);
    }
    return batcher;
  };
}
