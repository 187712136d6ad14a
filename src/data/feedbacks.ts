import { sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { isoUtc, pageWindow } from '../db/sql.js';
import { averageScore, feedbackScore, isNegative, isNeutral, isPositive, reputationScore } from './scores.js';

export interface FeedbackRecord {
  readonly id: string;
  /** normalized 0–100 score, null when the feedback is unscored */
  readonly score: number | null;
  /** raw signed integer, as a decimal string */
  readonly value: string;
  readonly valueDecimals: number;
  readonly tag1: string;
  readonly tag2: string;
  readonly clientAddress: string;
  /** uint64 on chain, as a decimal string */
  readonly feedbackIndex: string;
  readonly endpoint: string;
  readonly feedbackUri: string;
  readonly revoked: boolean;
  /** ISO-8601 UTC */
  readonly createdAt: string;
}

export interface FeedbackPageQuery {
  readonly agentId: bigint;
  readonly limit: number;
  readonly offset: number;
  readonly includeRevoked: boolean;
}

export interface FeedbackPage {
  /** how many feedbacks the filter matches, over all pages */
  readonly total: number;
  readonly feedbacks: FeedbackRecord[];
}

/** One page of an agent's feedback, newest first; undefined when the agent is not registered. */
export async function listFeedbacks(db: Database, query: FeedbackPageQuery): Promise<FeedbackPage | undefined> {
  const matches = sql`agent_id = ${query.agentId}::int8 ${query.includeRevoked ? sql`` : sql`and not revoked`}`;
  // One row when the agent is registered, none otherwise.
  const [page] = await db.rows<FeedbackPage>(sql`
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
    where id = ${query.agentId}::int8`);
  return page;
}

export interface ReputationSummary {
  /** non-revoked feedbacks: positive + neutral + negative + unscored */
  readonly total: number;
  readonly positive: number;
  readonly neutral: number;
  readonly negative: number;
  readonly unscored: number;
  readonly averageScore: number | null;
  readonly reputationScore: number | null;
}

/** Counts and scores over an agent's non-revoked feedback; undefined when the agent is not registered. */
export async function summarizeFeedbacks(db: Database, agentId: bigint): Promise<ReputationSummary | undefined> {
  const scoreColumn = sql`score`;
  const [summary] = await db.rows<ReputationSummary & { agentExists: boolean }>(sql`
    select exists(select 1 from agents where id = ${agentId}::int8) as "agentExists",
      count(*)::int as total,
      (count(*) filter (where ${isPositive(scoreColumn)}))::int as positive,
      (count(*) filter (where ${isNeutral(scoreColumn)}))::int as neutral,
      (count(*) filter (where ${isNegative(scoreColumn)}))::int as negative,
      (count(*) filter (where score is null))::int as unscored,
      ${averageScore(scoreColumn)} as "averageScore",
      ${reputationScore(sql`sum(score)`, sql`count(score)`)} as "reputationScore"
    from (select ${feedbackScore} as score from feedbacks where agent_id = ${agentId}::int8 and not revoked) scored`);
  if (summary === undefined || !summary.agentExists) return undefined;
  const { agentExists: _, ...counts } = summary;
  return counts;
}
