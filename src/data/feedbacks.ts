import { type SQL, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Database } from '../db/client.js';
import { isoUtc, pageWindow } from '../db/sql.js';
import { averageScore, feedbackScore, isNegative, isNeutral, isPositive, reputationScore } from './scores.js';

const feedbackRecord = z.object({
  id: z.string(),
  /** normalized 0–100 score, null when the feedback is unscored */
  score: z.number().nullable(),
  /** raw signed integer, as a decimal string */
  value: z.string(),
  valueDecimals: z.number(),
  tag1: z.string(),
  tag2: z.string(),
  clientAddress: z.string(),
  /** uint64 on chain, as a decimal string */
  feedbackIndex: z.string(),
  endpoint: z.string(),
  feedbackUri: z.string(),
  revoked: z.boolean(),
  /** ISO-8601 UTC */
  createdAt: z.string(),
});

export type FeedbackRecord = z.output<typeof feedbackRecord>;

export interface FeedbackPageQuery {
  readonly agentId: bigint;
  readonly limit: number;
  readonly offset: number;
  readonly includeRevoked: boolean;
}

const feedbackPage = z.object({
  /** how many feedbacks the filter matches, over all pages */
  total: z.number(),
  feedbacks: z.array(feedbackRecord),
});

export type FeedbackPage = z.output<typeof feedbackPage>;

/**
 * The statement listFeedbacks runs: one row when the agent is registered, none otherwise. The
 * bench's floor (bench/floor-script.ts) runs it too.
 */
export function feedbackPageQuery(query: FeedbackPageQuery): SQL {
  const matches = sql`agent_id = ${query.agentId}::int8 ${query.includeRevoked ? sql`` : sql`and not revoked`}`;
  return sql`
    select
      (select count(*)::int from feedbacks where ${matches}) as total,
      coalesce((
        select jsonb_agg(page.feedback order by page.created_at desc, page.id desc)
        from (
          select created_at, id, jsonb_build_object(
            'id', id,
            'score', (${feedbackScore})::float8,
            'value', value::text,
            'valueDecimals', value_decimals,
            'tag1', tag1,
            'tag2', tag2,
            'clientAddress', client_address,
            'feedbackIndex', feedback_index::text,
            'endpoint', endpoint,
            'feedbackUri', feedback_uri,
            'revoked', revoked,
            'createdAt', ${isoUtc(sql`created_at`)}
          ) as feedback
          from feedbacks
          where ${matches}
          order by created_at desc, id desc
          ${pageWindow(query)}
        ) page
      ), '[]'::jsonb) as feedbacks
    from agents
    where id = ${query.agentId}::int8`;
}

/** One page of an agent's feedback, newest first; undefined when the agent is not registered. */
export async function listFeedbacks(db: Database, query: FeedbackPageQuery): Promise<FeedbackPage | undefined> {
  const [page] = await db.rows(feedbackPage, feedbackPageQuery(query));
  return page;
}

const reputationSummary = z.object({
  /** non-revoked feedbacks: positive + neutral + negative + unscored */
  total: z.number(),
  positive: z.number(),
  neutral: z.number(),
  negative: z.number(),
  unscored: z.number(),
  averageScore: z.number().nullable(),
  reputationScore: z.number().nullable(),
});

export type ReputationSummary = z.output<typeof reputationSummary>;

/** The aggregate answers one row whether or not the agent exists, so the row says which. */
const summaryRow = reputationSummary.extend({ agentExists: z.boolean() });

/** Counts and scores over an agent's non-revoked feedback; undefined when the agent is not registered. */
export async function summarizeFeedbacks(db: Database, agentId: bigint): Promise<ReputationSummary | undefined> {
  const scoreColumn = sql`score`;
  const [summary] = await db.rows(
    summaryRow,
    sql`
    select exists(select 1 from agents where id = ${agentId}::int8) as "agentExists",
      count(*)::int as total,
      (count(*) filter (where ${isPositive(scoreColumn)}))::int as positive,
      (count(*) filter (where ${isNeutral(scoreColumn)}))::int as neutral,
      (count(*) filter (where ${isNegative(scoreColumn)}))::int as negative,
      (count(*) filter (where score is null))::int as unscored,
      ${averageScore(scoreColumn)} as "averageScore",
      ${reputationScore(sql`sum(score)`, sql`count(score)`)} as "reputationScore"
    from (select ${feedbackScore} as score from feedbacks where agent_id = ${agentId}::int8 and not revoked) scored`,
  );
  if (summary === undefined || !summary.agentExists) return undefined;
  const { agentExists: _, ...counts } = summary;
  return counts;
}
