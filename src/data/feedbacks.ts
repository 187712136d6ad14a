import { type SQL, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Database } from '../db/client.js';
import { groupedReads } from '../db/read-batcher.js';
import { isoUtc, jsonText } from '../db/sql.js';
import { type BoundStatement, StatementTemplate } from '../db/statement.js';
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

/** Whose feedback, which page: SQL values, or the columns of a batch's requests. */
interface FeedbackPageOf {
  readonly agentId: SQL;
  readonly limit: SQL;
  /** left out for the first page */
  readonly offset?: SQL;
  /** a condition on `f` (feedbacks): which feedback counts */
  readonly counts: SQL;
}

/**
 * `total`, `shown` and `feedbacks` of one agent's page: columns of the lateral joins this writes
 * after a FROM item. The page is built as JSON text by PostgreSQL and passed on as text (issue 18).
 */
function feedbackPageJoins(of: FeedbackPageOf): SQL {
  return sql`
    cross join lateral (select count(*)::int as total from feedbacks f where f.agent_id = ${of.agentId} and ${of.counts}) stats
    cross join lateral (
      select count(*)::int as shown, coalesce(json_agg(listed.feedback order by listed.created_at desc, listed.id desc)::text, '[]') as feedbacks
      from (
        select f.created_at, f.id, json_build_object(
          'id', f.id,
          'score', (${feedbackScore})::float8,
          'value', f.value::text,
          'value_decimals', f.value_decimals,
          'tag1', f.tag1,
          'tag2', f.tag2,
          'client_address', f.client_address,
          'feedback_index', f.feedback_index::text,
          'endpoint', f.endpoint,
          'feedback_uri', f.feedback_uri,
          'revoked', f.revoked,
          'created_at', ${isoUtc(sql`f.created_at`)}
        ) as feedback
        from feedbacks f
        where f.agent_id = ${of.agentId} and ${of.counts}
        order by f.created_at desc, f.id desc
        limit ${of.limit}::int ${of.offset ? sql`offset ${of.offset}::int` : sql``}
      ) listed
    ) page`;
}

/**
 * One agent's page as a statement of its own (one row when the agent is registered, none
 * otherwise): what the bench's floor (bench/floor-script.ts) runs per call.
 */
export function feedbackPageQuery(query: { agentId: unknown; limit: number; offset: number; includeRevoked: boolean }): SQL {
  const page = feedbackPageJoins({
    agentId: sql`${query.agentId}::int8`,
    limit: sql`${query.limit}`,
    offset: query.offset > 0 ? sql`${query.offset}` : undefined,
    counts: query.includeRevoked ? sql`true` : sql`not f.revoked`,
  });
  return sql`select total, shown, feedbacks from agents a ${page} where a.id = ${query.agentId}::int8`;
}

/**
 * The pages of the requests in `pages` (a json array of FeedbackPageQuery), each row with its place
 * `n`; each agent looked up by its key, as the profiles are (agents.ts).
 */
const FEEDBACK_PAGES = new StatementTemplate<'pages'>(
  (slot) => sql`
    select want.n::int as n, total, shown, feedbacks
    from rows from (json_to_recordset(${slot('pages')}::json) as (agent_id int8, "limit" int, "offset" int, "includeRevoked" bool))
      with ordinality as want(agent_id, page_limit, page_offset, include_revoked, n)
    cross join lateral (select a.id from agents a where a.id = want.agent_id limit 1) a
    ${feedbackPageJoins({
      agentId: sql`want.agent_id`,
      limit: sql`want.page_limit`,
      offset: sql`want.page_offset`,
      counts: sql`(want.include_revoked or not f.revoked)`,
    })}`,
);

/** The statement that reads `pages` together; each row carries the place `n` of the page it answers. */
export function feedbackPagesStatement(pages: readonly FeedbackPageQuery[]): BoundStatement {
  return FEEDBACK_PAGES.bind({
    pages: jsonText(
      pages.map((page) => ({ agent_id: page.agentId, limit: page.limit, offset: page.offset, includeRevoked: page.includeRevoked })),
    ),
  });
}

const PlacedPage = FeedbackPageRow.extend({ n: z.number() });

/** Pages are read many at a time: the paid calls answered together share one statement. */
const pageReads = groupedReads({ row: PlacedPage, statement: feedbackPagesStatement });

/** One page of an agent's feedback, newest first; undefined when the agent is not registered. */
export async function listFeedbacks(db: Database, query: FeedbackPageQuery): Promise<FeedbackPage | undefined> {
  const page = await pageReads(db.replica).read(query);
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
  const [summary] = await db.replica.rows(
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
