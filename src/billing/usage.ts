import { sql, type SQL } from 'drizzle-orm';
import type { Database } from '../db/client.js';

export type UsageDimension = 'tool' | 'tier' | 'day';

export interface UsageRow {
  /** the tool name, the tier ("0".."3") or the UTC day (YYYY-MM-DD) */
  key: string;
  calls: number;
  succeeded: number;
  /** failed, cancelled or rejected: never charged */
  failed: number;
  spent: bigint;
  /** succeeded / (succeeded + failed), null while none has finished */
  successRate: number | null;
  p50Ms: number | null;
  p95Ms: number | null;
}

/**
 * Paid calls of one organization aggregated in SQL by tool, tier or UTC day, over its
 * `(org_id, created_at)` index. `tierOf` maps the tool column to its tier (the tool table lives in
 * code, not in the database).
 */
export async function usageBy(
  db: Database,
  orgId: string,
  query: { by: UsageDimension; from?: Date; to?: Date; tierOf: (tool: SQL) => SQL },
): Promise<UsageRow[]> {
  const key =
    query.by === 'tool' ? sql`tool` : query.by === 'tier' ? query.tierOf(sql`tool`) : sql`to_char(created_at at time zone 'UTC', 'YYYY-MM-DD')`;
  const conditions = [sql`org_id = ${orgId}`, sql`tool is not null`];
  if (query.from) conditions.push(sql`created_at >= ${query.from.toISOString()}::timestamptz`);
  if (query.to) conditions.push(sql`created_at < ${query.to.toISOString()}::timestamptz`);
  return db.rows<UsageRow>(sql`
    select key, calls, succeeded, failed, spent,
           case when succeeded + failed = 0 then null else round(succeeded::numeric / (succeeded + failed), 4)::float8 end as "successRate",
           "p50Ms", "p95Ms"
      from (
        select ${key} as key,
               count(*)::int as calls,
               (count(*) filter (where state = 'completed'))::int as succeeded,
               (count(*) filter (where state in ('failed', 'canceled', 'rejected')))::int as failed,
               coalesce(sum(cost) filter (where state = 'completed'), 0)::int8 as spent,
               round(percentile_cont(0.5) within group (order by duration_ms))::float8 as "p50Ms",
               round(percentile_cont(0.95) within group (order by duration_ms))::float8 as "p95Ms"
          from tasks
         where ${sql.join(conditions, sql` and `)}
         group by 1
      ) per_key
     order by key`);
}
