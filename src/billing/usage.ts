import { type SQL, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Database } from '../db/client.js';
import { FINISHED_STATES, latencyBucket, taskDay } from './usage-rollup.js';

export type UsageDimension = 'tool' | 'tier' | 'day';

const UsageRowSchema = z.object({
  /** the tool name, the tier ("0".."3") or the UTC day (YYYY-MM-DD) */
  key: z.string(),
  /** split by tool: the row's tool; null otherwise */
  tool: z.string().nullable(),
  calls: z.number(),
  succeeded: z.number(),
  /** failed, cancelled or rejected: never charged */
  failed: z.number(),
  spent: z.bigint(),
  /** succeeded / (succeeded + failed), null while none has finished */
  successRate: z.number().nullable(),
  p50Ms: z.number().nullable(),
  p95Ms: z.number().nullable(),
});
export type UsageRow = z.output<typeof UsageRowSchema>;

/** UTC midnight at or after `instant`. */
function nextMidnight(instant: Date): string {
  const midnight = Date.UTC(instant.getUTCFullYear(), instant.getUTCMonth(), instant.getUTCDate());
  // Stryker disable next-line ConditionalExpression,EqualityOperator: only decides whether a range's first whole day is read from rollups or from tasks, which give the same figures by design
  return new Date(midnight < instant.getTime() ? midnight + 86_400_000 : midnight).toISOString();
}

/** UTC midnight at or before `instant`. */
function lastMidnight(instant: Date): string {
  return new Date(Date.UTC(instant.getUTCFullYear(), instant.getUTCMonth(), instant.getUTCDate())).toISOString();
}

export interface UsageQuery {
  by: UsageDimension;
  /** `tool`: a row per key and tool (a day's spend per tool) instead of one per key */
  split?: 'tool';
  from?: Date;
  to?: Date;
  tierOf: (tool: SQL) => SQL;
}

export async function usageBy(db: Database, orgId: string, query: UsageQuery): Promise<UsageRow[]> {
  return db.replica.rows(UsageRowSchema, usageStatement(orgId, query));
}

/**
 * Paid calls of one organization in [from, to) aggregated by tool, tier or UTC day, and split by
 * tool when asked (rows per key and tool), in one SQL statement. Whole days the rollup job has closed come from `usage_rollups`; the rest (the range's
 * partial first and last days, days not rolled up yet, and tasks that had not finished when their
 * day was) from `tasks` over its `(org_id, created_at)` index. Percentiles are nearest-rank over
 * latency buckets (`latencyBucket`: within 3.2 %), the same for both sources. `tierOf` maps a tool
 * to its tier (the tool table lives in code, not in the database).
 */
export function usageStatement(orgId: string, query: UsageQuery): SQL {
  const keyOf = (tool: SQL, day: SQL) =>
    query.by === 'tool' ? tool : query.by === 'tier' ? query.tierOf(tool) : sql`to_char(${day}, 'YYYY-MM-DD')`;
  // The rows' second grouping column: the tool when split, else one value ('') for every row, so the
  // statement groups and joins by (key, part) either way; '' is never a tool's name.
  const partOf = (tool: SQL) => (query.split === 'tool' ? tool : sql`''`);
  const from = query.from?.toISOString() ?? '-infinity';
  const to = query.to?.toISOString() ?? 'infinity';
  // [lo, hi): the whole days inside the range that are rolled up; hi = lo when there are none.
  const lo = query.from ? nextMidnight(query.from) : '-infinity';
  const hiCap = query.to ? lastMidnight(query.to) : 'infinity';
  const rawColumns = sql`${keyOf(sql`tool`, taskDay)} as key, ${partOf(sql`tool`)} as part, state, cost, duration_ms`;
  const finished = sql`state in ${FINISHED_STATES}`;
  return sql`
    with bounds as materialized (
      select lo, greatest(lo, least(${hiCap}::timestamptz, coalesce((select rolled_until from usage_rollup_cursor), '-infinity'))) as hi
        from (select ${lo}::timestamptz as lo) l
    ), rolled as materialized (
      select ${keyOf(sql`tool`, sql`day`)} as key, ${partOf(sql`tool`)} as part, calls, succeeded, failed, spent, latency from usage_rollups
       where org_id = ${orgId}
         and day >= ((select lo from bounds) at time zone 'UTC')::date and day < ((select hi from bounds) at time zone 'UTC')::date
    ), raw as materialized (
      select ${rawColumns} from tasks
       where org_id = ${orgId} and tool is not null
         and created_at >= ${from}::timestamptz and created_at < least((select lo from bounds), ${to}::timestamptz)
      union all
      select ${rawColumns} from tasks
       where org_id = ${orgId} and tool is not null
         and created_at >= greatest((select hi from bounds), ${from}::timestamptz) and created_at < ${to}::timestamptz
      union all
      select ${rawColumns} from usage_rollup_pending p join tasks using (org_id, created_at)
       where p.org_id = ${orgId} and tasks.id = p.task_id and tool is not null
         and p.created_at >= (select lo from bounds) and p.created_at < (select hi from bounds)
    ), totals as (
      select key, part, sum(calls)::int as calls, sum(succeeded)::int as succeeded, sum(failed)::int as failed, sum(spent)::int8 as spent
        from (
          select key, part, calls, succeeded, failed, spent from rolled
          union all
          select key, part, count(*), count(*) filter (where state = 'completed'),
                 count(*) filter (where state <> 'completed' and ${finished}),
                 coalesce(sum(cost) filter (where state = 'completed'), 0)
            from raw group by 1, 2
        ) parts
       group by key, part
    ), latency as (
      select key, part, bucket, sum(n) over (partition by key, part order by bucket) as below, sum(n) over (partition by key, part) as total
        from (
          select key, part, bucket, sum(n) as n from (
            select rolled.key, rolled.part, bucket.key::int as bucket, bucket.value::int8 as n
              from rolled cross join lateral jsonb_each_text(latency) bucket
            union all
            select key, part, ${latencyBucket(sql`duration_ms`)}, count(*) from raw where duration_ms is not null group by 1, 2, 3
          ) buckets
          group by key, part, bucket
        ) merged
    ), percentiles as (
      select key, part, min(bucket) filter (where below >= 0.5 * total) as p50, min(bucket) filter (where below >= 0.95 * total) as p95
        from latency group by key, part
    )
    select key, nullif(part, '') as tool, calls, succeeded, failed, spent,
           case when succeeded + failed = 0 then null else round(succeeded::numeric / (succeeded + failed), 4)::float8 end as "successRate",
           p50::float8 as "p50Ms", p95::float8 as "p95Ms"
      from totals left join percentiles using (key, part)
     order by key, part`;
}
