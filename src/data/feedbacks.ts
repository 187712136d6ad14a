import { type SQL, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Database } from '../db/client.js';
import { isoUtc, pageWindow } from '../db/sql.js';
import { StatementTemplate } from '../db/statement.js';
import { JsonText } from '../domain/json-text.js';
import { averageScore, feedbackScore, isNegative, isNeutral, isPositive, reputationScore } from './scores.js';

/**
 * One feedback record as the getMyFeedbacks tool answers it (snake_case, in this order), written
 * as JSON by PostgreSQL.
 */
export interface FeedbackJson {
  id: string;
  /** normalized 0–100 score, null when the feedback is unscored */
  score: number | null;
  /** raw signed integer, as a decimal string */
  value: string;
  value_decimals: number;
  tag1: string;
  tag2: string;
  client_address: string;
  /** uint64 on chain, as a decimal string */
  feedback_index: string;
  endpoint: string;
  feedback_uri: string;
  revoked: boolean;
  /** ISO-8601 UTC */
  created_at: string;
}

export interface FeedbackPageQuery {
  readonly agentId: bigint;
  readonly limit: number;
  readonly offset: number;
  readonly includeRevoked: boolean;
}

const FeedbackPageRow = z.object({
  /** how many feedbacks the filter matches, over all pages */
  total: z.number(),
  /** how many are on this page */
  shown: z.number(),
  /** the page's records (FeedbackJson[]), newest first, as JSON text */
  feedbacks: z.string(),
});

export interface FeedbackPage {
  total: number;
  shown: number;
  feedbacks: JsonText;
}

/** The statement's shape: which feedback it counts, and whether it skips rows. */
interface FeedbackPageShape {
  readonly includeRevoked: boolean;
  readonly skipping: boolean;
}

/**
 * The statement listFeedbacks runs, for values or a template's slots: one row when the agent is
 * registered, none otherwise. The page is built as JSON text by PostgreSQL and passed on as text
 * (issue 18). The bench's floor (bench/floor-script.ts) runs it too.
 */
export function feedbackPageQuery(shape: FeedbackPageShape, values: { agentId: unknown; limit: unknown; offset: unknown }): SQL {
  const matches = sql`agent_id = ${values.agentId}::int8 ${shape.includeRevoked ? sql`` : sql`and not revoked`}`;
  return sql`
    select
      (select count(*)::int from feedbacks where ${matches}) as total,
      coalesce(page.shown, 0) as shown,
      coalesce(page.feedbacks, '[]') as feedbacks
    from agents
    cross join lateral (
      select count(*)::int as shown, json_agg(listed.feedback order by listed.created_at desc, listed.id desc)::text as feedbacks
      from (
        select created_at, id, json_build_object(
          'id', id,
          'score', (${feedbackScore})::float8,
          'value', value::text,
          'value_decimals', value_decimals,
          'tag1', tag1,
          'tag2', tag2,
          'client_address', client_address,
          'feedback_index', feedback_index::text,
          'endpoint', endpoint,
          'feedback_uri', feedback_uri,
          'revoked', revoked,
          'created_at', ${isoUtc(sql`created_at`)}
        ) as feedback
        from feedbacks
        where ${matches}
        order by created_at desc, id desc
        ${pageWindow(values, shape.skipping)}
      ) listed
    ) page
    where agents.id = ${values.agentId}::int8`;
}

/** One template per shape, rendered once each. */
const FEEDBACK_PAGES = new Map(
  [false, true].flatMap((includeRevoked) =>
    [false, true].map((skipping) => [
      `${includeRevoked}/${skipping}`,
      new StatementTemplate<'agentId' | 'limit' | 'offset'>((slot) =>
        feedbackPageQuery({ includeRevoked, skipping }, { agentId: slot('agentId'), limit: slot('limit'), offset: slot('offset') }),
      ),
    ]),
  ),
);

/** One page of an agent's feedback, newest first; undefined when the agent is not registered. */
export async function listFeedbacks(db: Database, query: FeedbackPageQuery): Promise<FeedbackPage | undefined> {
  const template = FEEDBACK_PAGES.get(`${query.includeRevoked}/${query.offset > 0}`);
  if (!template) throw new Error('every feedback page shape has its template');
  const [page] = await db.rows(FeedbackPageRow, template.bind({ agentId: query.agentId, limit: query.limit, offset: query.offset }));
  return page && { total: page.total, shown: page.shown, feedbacks: new JsonText(page.feedbacks) };
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
