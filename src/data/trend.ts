import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Database } from '../db/client.js';
import { feedbackScore, reputationScore } from './scores.js';

export interface TrendQuery {
  readonly agentId: bigint;
  /** the instant the last bucket ends at */
  readonly now: Date;
  readonly bucketDays: number;
  readonly bucketCount: number;
}

const trendPoint = z.object({
  /** YYYY-MM-DD, the last UTC day of the bucket */
  date: z.string(),
  /** reputation score of every score up to the bucket's end; null when there is none yet */
  score: z.number().nullable(),
  /** scores created inside the bucket */
  feedbacks: z.number(),
});

export type TrendPoint = z.output<typeof trendPoint>;

/**
 * Contiguous buckets of whole UTC days, the last one ending with the day of `now` (feedback after
 * `now` is left out), oldest first; undefined when the agent is not registered. One statement:
 * each score is placed in its bucket (or in bucket -1, before the window, which seeds the running
 * sums) and the buckets are summed cumulatively.
 */
export async function reputationTrend(db: Database, query: TrendQuery): Promise<TrendPoint[] | undefined> {
  const now = sql`${query.now.toISOString()}::timestamptz`;
  const lastBucket = sql`${query.bucketCount - 1}::int`;
  const bucketDays = sql`${query.bucketDays}::int`;
  const rows = await db.replica.rows(
    trendPoint,
    sql`
    with today as (select (${now} at time zone 'UTC')::date as day),
    scored as (
      select (created_at at time zone 'UTC')::date as day, ${feedbackScore} as score
      from feedbacks
      where agent_id = ${query.agentId}::int8 and not revoked and created_at <= ${now}
    ),
    per_bucket as (
      select greatest(${lastBucket} - (today.day - scored.day) / ${bucketDays}, -1) as bucket,
        count(*) as scores, sum(scored.score) as score_sum
      from scored cross join today
      where scored.score is not null
      group by 1
    ),
    cumulative as (
      select series.bucket, today.day - (${lastBucket} - series.bucket) * ${bucketDays} as end_day,
        coalesce(per_bucket.scores, 0) as scores,
        sum(coalesce(per_bucket.scores, 0)) over running as running_scores,
        sum(coalesce(per_bucket.score_sum, 0)) over running as running_sum
      from generate_series(-1, ${lastBucket}) as series(bucket)
      cross join today
      left join per_bucket using (bucket)
      window running as (order by series.bucket)
    )
    select to_char(end_day, 'YYYY-MM-DD') as date,
      ${reputationScore(sql`running_sum`, sql`running_scores`)} as score,
      scores::int as feedbacks
    from cumulative
    where bucket >= 0 and exists (select 1 from agents where id = ${query.agentId}::int8)
    order by bucket`,
  );
  return rows.length === 0 ? undefined : rows;
}
