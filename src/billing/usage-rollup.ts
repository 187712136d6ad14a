import { type SQL, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Database } from '../db/client.js';
import { isoUtc } from '../db/sql.js';
import { TERMINAL_STATES } from '../domain/task-model.js';

/** The task states that never change again, as an SQL list (from the one set the task lifecycle uses). */
export const FINISHED_STATES = sql.raw(`(${[...TERMINAL_STATES].map((state) => `'${state}'`).join(', ')})`);

/** A day is rolled up this long after it ended: past the longest transaction that could still insert a task dated that day. */
const ROLL_MARGIN_MS = 10 * 60_000;
const DAY_MS = 86_400_000;

/**
 * A duration's latency bucket: the duration kept to its 6 most significant bits, so exact below
 * 64 ms and at most 3.2 % under it above (32 buckets per doubling, about 200 for 1 ms to 10 s).
 */
export function latencyBucket(ms: SQL): SQL {
  const dropped = sql`(27 - position('1' in ${ms}::bit(32)::text))`;
  return sql`(case when ${ms} < 64 then ${ms} else (${ms} >> ${dropped}) << ${dropped} end)`;
}

/** The UTC day of a task. */
export const taskDay = sql`(created_at at time zone 'UTC')::date`;

/** Rollup rows, one per (org, day, tool), of the finished paid calls among `source` (a from-clause of task rows). */
function rollupInsert(source: SQL): SQL {
  return sql`
    insert into usage_rollups (org_id, day, tool, calls, succeeded, failed, spent, latency)
    select org_id, day, tool, sum(n)::int, sum(succeeded)::int, sum(failed)::int, sum(spent)::int8,
           coalesce(jsonb_object_agg(bucket, n) filter (where bucket is not null), '{}'::jsonb)
      from (select org_id, ${taskDay} as day, tool, ${latencyBucket(sql`duration_ms`)} as bucket,
                   count(*) as n,
                   count(*) filter (where state = 'completed') as succeeded,
                   count(*) filter (where state <> 'completed') as failed,
                   coalesce(sum(cost) filter (where state = 'completed'), 0) as spent
              from ${source}
             where tool is not null and state in ${FINISHED_STATES}
             group by 1, 2, 3, 4) per_bucket
     group by 1, 2, 3`;
}

/** Each organization's tasks created in [start, end), read through the (org_id, created_at) index. */
function tasksCreatedIn(start: Date, end: Date): SQL {
  return sql`(select t.* from organizations o cross join lateral (
                select * from tasks where org_id = o.id and created_at >= ${start.toISOString()}::timestamptz and created_at < ${end.toISOString()}::timestamptz
              ) t) created_that_day`;
}

export interface RollupPass {
  /** UTC days rolled up by this pass */
  days: number;
  /** pending tasks that had finished and were folded in */
  folded: number;
}

/**
 * One pass of the usage rollup, safe to run on every instance at once (the cursor row is taken with
 * SKIP LOCKED: a pass that finds it taken does nothing). Each closed UTC day is rolled up in one
 * transaction with the cursor's move: its finished paid calls become `usage_rollups` rows, its
 * unfinished tasks go to `usage_rollup_pending`; pending tasks that have since finished are folded
 * in. Readers see each task exactly once, from a rollup or from `tasks`.
 */
const CursorRow = z.object({ rolled_until: z.string() });
const FoldedRow = z.object({ task_id: z.string() });

export async function rollUpUsage(db: Database, now: Date = new Date()): Promise<RollupPass> {
  await db.run(sql`
    insert into usage_rollup_cursor (rolled_until)
    select coalesce(date_trunc('day', min(first_task) at time zone 'UTC') at time zone 'UTC', date_trunc('day', now() at time zone 'UTC') at time zone 'UTC')
      from organizations o cross join lateral (select min(created_at) as first_task from tasks where org_id = o.id) firsts
     where not exists (select 1 from usage_rollup_cursor)
    on conflict (id) do nothing`);
  const pass: RollupPass = { days: 0, folded: 0 };
  for (;;) {
    /** whether this step rolled a day up (no: another instance holds the cursor, or no closed day is left) */
    const rolledADay = await db.transaction(async (tx) => {
      const [cursor] = await tx.rows(
        CursorRow,
        sql`select ${isoUtc(sql`rolled_until`)} as rolled_until from usage_rollup_cursor for update skip locked`,
      );
      if (!cursor) return false;
      if (pass.days === 0) {
        const folded = await tx.rows(
          FoldedRow,
          sql`
          with folded as (
            delete from usage_rollup_pending p using tasks t
             where t.id = p.task_id and t.state in ${FINISHED_STATES}
         returning t.*
          ), inserted as (${rollupInsert(sql`folded`)} returning 1)
          select id as task_id from folded`,
        );
        pass.folded = folded.length;
      }
      const start = new Date(cursor.rolled_until);
      const end = new Date(start.getTime() + DAY_MS);
      // Stryker disable next-line EqualityOperator: > or >= differ only when the margin ends at this very millisecond
      if (end.getTime() + ROLL_MARGIN_MS > now.getTime()) return false;
      await tx.run(rollupInsert(tasksCreatedIn(start, end)));
      await tx.run(sql`
        insert into usage_rollup_pending (task_id, org_id, created_at)
        select id, org_id, created_at from ${tasksCreatedIn(start, end)} where state not in ${FINISHED_STATES}`);
      await tx.run(sql`update usage_rollup_cursor set rolled_until = ${end.toISOString()}::timestamptz`);
      pass.days += 1;
      return true;
    });
    if (!rolledADay) return pass;
  }
}
