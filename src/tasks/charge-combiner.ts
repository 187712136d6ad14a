import { chargeCalls } from '../billing/charges.js';
import type { Database } from '../db/client.js';
import { sqlState } from '../db/sql.js';
import { answeredCalls, insertCompletedTasksFromPaid, type AnsweredCall, type WrittenTask } from './store.js';

const UNIQUE_VIOLATION = '23505';
/** Bounds one statement's size (10 parameters a call). */
const MAX_CALLS_PER_STATEMENT = 100;

export interface ChargeCombiner {
  /**
   * Pays for one answered instant call and records its task completed. Resolves with the task as
   * written, or undefined when nothing was charged: its messageId was used already, or the credit
   * was short. Rejects with the database's error (a unique violation means a duplicate messageId).
   */
  charge(call: AnsweredCall): Promise<WrittenTask | undefined>;
}

interface Waiting {
  call: AnsweredCall;
  resolve(row: WrittenTask | undefined): void;
  reject(error: unknown): void;
}

/**
 * Charges go to the database one statement at a time; calls that answer while a statement is in
 * flight wait and go together in the next one (src/billing/charges.ts): one commit and one update
 * per account for many calls — group commit, done where the calls are known. A call that finds no
 * statement in flight goes at once, so waiting only replaces the row-lock and commit queue it would
 * have stood in anyway. Holds no state beyond calls in flight, so instances need not know of each
 * other.
 */
export function createChargeCombiner(db: Database): ChargeCombiner {
  /** calls for the next statement; undefined while none is in flight */
  let queue: Waiting[] | undefined;

  async function run(batch: Waiting[]): Promise<void> {
    try {
      const rows = await db.rows<WrittenTask>(
        chargeCalls({ calls: answeredCalls(batch.map((entry) => entry.call)), taskWrite: insertCompletedTasksFromPaid }),
      );
      const written = new Map(rows.map((row) => [row.id, row]));
      for (const entry of batch) entry.resolve(written.get(entry.call.id));
    } catch (error) {
      if (batch.length > 1 && sqlState(error) === UNIQUE_VIOLATION) {
        // A messageId of one call was taken meanwhile (by another instance, or a held call): charge
        // each alone, so only that call is refused.
        for (const entry of batch) await run([entry]);
        return;
      }
      for (const entry of batch) entry.reject(error);
    }
  }

  async function drain(pending: Waiting[]): Promise<void> {
    while (pending.length > 0) await run(pending.splice(0, MAX_CALLS_PER_STATEMENT));
    queue = undefined;
  }

  return {
    charge: (call) =>
      new Promise((resolve, reject) => {
        const entry = { call, resolve, reject };
        if (queue) {
          queue.push(entry);
          return;
        }
        queue = [entry];
        void drain(queue);
      }),
  };
}
