import { sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { settleWith } from '../billing/holds.js';
import type { Database } from '../db/client.js';
import { isDatabaseUnavailable, warnDatabaseUnavailable } from '../db/unavailable.js';
import { repeat } from '../repeat.js';
import { TASK_COLUMNS, type TaskFailure, TaskRowSchema } from './store.js';

const ABANDONED: TaskFailure = {
  reason: 'abandoned',
  message: 'the gateway stopped before the tool answered; nothing was charged',
};

/**
 * Tasks settled per statement, so one sweep never holds many account locks at once. The batch is
 * taken as an array: PostgreSQL may run an `in (… limit …)` subquery again for each row it
 * updates, and a statement then settled every stranded task at once, past the limit.
 */
const SWEEP_BATCH = 200;

/**
 * Fails tasks still `working` past their deadline (their process died mid-call) and releases their
 * holds, with ledger rows that say so. SKIP LOCKED lets several instances sweep at once without
 * waiting on, or double-settling, the same task.
 */
export async function releaseAbandonedTasks(db: Database): Promise<number> {
  let released = 0;
  for (;;) {
    const rows = await db.rows(
      TaskRowSchema,
      settleWith(
        'release',
        sql`
          update tasks
             set state = 'failed', error = ${JSON.stringify(ABANDONED)}::jsonb, deadline_at = null, updated_at = now()
           where id = any(array(
                 select id from tasks
                  where state = 'working' and deadline_at < now()
                  order by deadline_at
                  limit ${SWEEP_BATCH}
                    for update skip locked))
             and state = 'working'
       returning ${TASK_COLUMNS}`,
        { reason: ABANDONED.reason },
      ),
    );
    released += rows.length;
    if (rows.length < SWEEP_BATCH) return released;
  }
}

/** Sweeps now and then every `intervalMs`; returns a stop function. */
export function startRecoveryLoop(db: Database, log: Logger, intervalMs: number): () => Promise<void> {
  return repeat(
    async () => {
      const released = await releaseAbandonedTasks(db);
      if (released > 0) log.warn({ released }, 'released abandoned tasks');
    },
    {
      intervalMs,
      // the next sweep runs as usual: once the database is back it releases what this one could not
      onError: (error) =>
        isDatabaseUnavailable(error) ? warnDatabaseUnavailable(log, error) : log.error({ err: error }, 'recovery sweep failed'),
    },
  );
}
