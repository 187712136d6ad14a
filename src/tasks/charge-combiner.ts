import { chargeCalls } from '../billing/charges.js';
import type { Database } from '../db/client.js';
import { sqlState } from '../db/sql.js';
import { answeredCalls, insertCompletedTasksFromPaid, type AnsweredCall, type WrittenTask } from './store.js';

const UNIQUE_VIOLATION = '23505';
/** Bounds one statement's size; a JSON-RPC batch holds at most 100 calls anyway. */
const MAX_CALLS_PER_STATEMENT = 100;

export interface ChargeCombiner {
  /**
   * Pays for one answered instant call and records its task completed. Resolves with the task as
   * written, or undefined when nothing was charged: its messageId was used already, or the credit
   * was short. Rejects with the database's error (a unique violation means a duplicate messageId).
   */
  charge(orgId: string, call: AnsweredCall): Promise<WrittenTask | undefined>;
}

interface Waiting {
  call: AnsweredCall;
  resolve(row: WrittenTask | undefined): void;
  reject(error: unknown): void;
}

/**
 * Charges for one organization go to the database one statement at a time; calls that answer while
 * a statement is in flight wait and go together in the next one (src/billing/charges.ts). One
 * organization's calls then contend for its account row once per statement instead of once per
 * call — what lets a single busy organization, or a JSON-RPC batch, run at the speed of many. A
 * lone call goes at once, so nothing waits that would not have waited for the row lock anyway.
 * Holds no state beyond calls in flight, so instances need not know of each other.
 */
export function createChargeCombiner(db: Database): ChargeCombiner {
  /** organizations with a statement in flight → the calls for the next one */
  const waiting = new Map<string, Waiting[]>();

  async function run(orgId: string, batch: Waiting[]): Promise<void> {
    try {
      const rows = await db.rows<WrittenTask>(
        chargeCalls({
          orgId,
          calls: answeredCalls(batch.map((entry) => entry.call)),
          taskWrite: insertCompletedTasksFromPaid,
        }),
      );
      const written = new Map(rows.map((row) => [row.id, row]));
      for (const entry of batch) entry.resolve(written.get(entry.call.id));
    } catch (error) {
      if (batch.length > 1 && sqlState(error) === UNIQUE_VIOLATION) {
        // A messageId of one call was taken meanwhile (by another instance): charge each alone, so
        // only that call is refused.
        for (const entry of batch) await run(orgId, [entry]);
        return;
      }
      for (const entry of batch) entry.reject(error);
    }
  }

  async function drain(orgId: string, queue: Waiting[]): Promise<void> {
    while (queue.length > 0) await run(orgId, queue.splice(0, MAX_CALLS_PER_STATEMENT));
    waiting.delete(orgId);
  }

  return {
    charge: (orgId, call) =>
      new Promise((resolve, reject) => {
        const entry = { call, resolve, reject };
        const queue = waiting.get(orgId);
        if (queue) {
          queue.push(entry);
          return;
        }
        const fresh = [entry];
        waiting.set(orgId, fresh);
        void drain(orgId, fresh);
      }),
  };
}
