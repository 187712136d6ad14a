import { randomUUID } from 'node:crypto';
import { type SQL, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Database } from '../db/client.js';

/** The run of a task stopped because the task is no longer this instance's to run. */
export class LeaseLostError extends Error {
  constructor(
    readonly taskId: string,
    why: 'canceled here' | 'lease lost',
  ) {
    super(`task ${taskId}: ${why}`);
    this.name = 'LeaseLostError';
  }
}

/**
 * This instance's hold on the held tasks it runs. A task is taken with a lease (`lease_owner`,
 * `lease_until`), which is renewed every third of its length while the tool runs. When renewal finds
 * the task no longer working under this owner (cancelled from any instance, failed by recovery,
 * taken over after a stall), the run is aborted; `cancel` aborts a run of this instance at once.
 */
export interface Leases {
  /** this instance's id, written as lease_owner */
  readonly owner: string;
  readonly leaseMs: number;
  /** `lease_owner` / `lease_until` values that give a new task to this instance */
  claim(): { owner: string; until: SQL };
  /** runs `work` while renewing the task's lease; its signal aborts when the lease is lost or cancel() is called */
  hold<T>(taskId: string, work: (signal: AbortSignal) => Promise<T>): Promise<T>;
  cancel(taskId: string): void;
  running(): number;
  /** resolves when no run is left, or after `timeoutMs`; true if none is left */
  idle(timeoutMs: number): Promise<boolean>;
}

const RenewedRow = z.object({ id: z.string() });

export function createLeases(input: { db: Database; log: Logger; leaseMs: number; owner?: string }): Leases {
  const owner = input.owner ?? randomUUID();
  const runs = new Map<string, AbortController>();
  const until = () => sql`now() + make_interval(secs => ${input.leaseMs / 1000})`;

  async function renew(taskId: string): Promise<boolean> {
    const rows = await input.db.rows(
      RenewedRow,
      sql`
      update tasks set lease_until = ${until()}
       where id = ${taskId} and lease_owner = ${owner} and state = 'working'
   returning id`,
    );
    return rows.length > 0;
  }

  return {
    owner,
    leaseMs: input.leaseMs,
    claim: () => ({ owner, until: until() }),
    async hold(taskId, work) {
      const controller = new AbortController();
      runs.set(taskId, controller);
      const heartbeat = setInterval(
        () => {
          renew(taskId).then(
            (kept) => {
              if (!kept) controller.abort(new LeaseLostError(taskId, 'lease lost'));
            },
            (error: unknown) => input.log.warn({ err: error, task: taskId }, 'lease renewal failed; will retry'),
          );
        },
        Math.max(50, Math.floor(input.leaseMs / 3)),
      );
      try {
        return await work(controller.signal);
      } finally {
        clearInterval(heartbeat);
        runs.delete(taskId);
      }
    },
    cancel(taskId) {
      runs.get(taskId)?.abort(new LeaseLostError(taskId, 'canceled here'));
    },
    running: () => runs.size,
    async idle(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (runs.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      return runs.size === 0;
    },
  };
}
