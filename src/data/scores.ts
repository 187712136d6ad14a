import { type SQL, sql } from 'drizzle-orm';

/**
 * The scoring rule: which ERC-8004 feedback counts as a 0–100 score and how scores aggregate.
 * ERC-8004 feedback is a signed `value` scaled by 10^`value_decimals` with free-form tags, so a
 * feedback is a score only when its tag says it measures a 0–100 quantity and its value lies on that
 * scale. Anything else is counted as unscored, never clamped onto the scale.
 */

/** tag1 values whose feedback measures a 0–100 quantity; an empty tag1 (untagged) counts too. */
export const SCORE_TAGS = ['starred', 'score', 'quality', 'uptime', 'successRate'] as const;
export const SCORE_MIN = 0;
export const SCORE_MAX = 100;

/** positive: score ≥ 70; neutral: 40 ≤ score < 70; negative: score < 40 */
export const POSITIVE_MIN_SCORE = 70;
export const NEUTRAL_MIN_SCORE = 40;

export const AVERAGE_SCORE_DECIMALS = 2;

/**
 * reputation_score = (sum of scores + PRIOR_SCORE·PRIOR_WEIGHT) / (count + PRIOR_WEIGHT) / 100:
 * a Bayesian average that pulls agents with few scores toward 0.5.
 */
export const REPUTATION_PRIOR_WEIGHT = 10;
export const REPUTATION_PRIOR_SCORE = 50;
export const REPUTATION_SCORE_DECIMALS = 4;

/** ERC-8004 validation responses are 0..100; a validation passed when its response is ≥ 50. */
export const VALIDATION_PASS_MIN_RESPONSE = 50;
export const PASS_RATE_DECIMALS = 4;

/** Trend bucket size by period: 1 day up to 14 days, 7 days up to 120 days, 30 days above. */
export const TREND_DAILY_MAX_PERIOD_DAYS = 14;
export const TREND_WEEKLY_MAX_PERIOD_DAYS = 120;
/** |change_percent| at or below this is 'stable'. */
export const TREND_STABLE_PERCENT = 1;
export const CHANGE_PERCENT_DECIMALS = 2;

export type TrendBucketDays = 1 | 7 | 30;
export type TrendWord = 'improving' | 'declining' | 'stable' | 'insufficient_data';

export function trendBucketDays(periodDays: number): TrendBucketDays {
  if (periodDays <= TREND_DAILY_MAX_PERIOD_DAYS) return 1;
  if (periodDays <= TREND_WEEKLY_MAX_PERIOD_DAYS) return 7;
  return 30;
}

/** (last − first) / first · 100 over the first and last known scores; null with fewer than two. */
export function changePercent(scores: readonly (number | null)[]): number | null {
  const known = scores.filter((score): score is number => score !== null);
  const first = known[0];
  const last = known[known.length - 1];
  // The prior keeps reputation scores above 0 until rounding meets ~100,000 zero scores; never divide by 0.
  if (known.length < 2 || first === undefined || last === undefined || first === 0) return null;
  const factor = 10 ** CHANGE_PERCENT_DECIMALS;
  return Math.round(((last - first) / first) * 100 * factor) / factor;
}

export function trendWord(change: number | null): TrendWord {
  if (change === null) return 'insufficient_data';
  if (change > TREND_STABLE_PERCENT) return 'improving';
  if (change < -TREND_STABLE_PERCENT) return 'declining';
  return 'stable';
}

const literal = (value: number): SQL => sql.raw(String(value));
const scale = sql`power(10::numeric, value_decimals)`;

/**
 * The normalized 0–100 score of a `feedbacks` row (numeric), or NULL when the row is unscored.
 * It ignores `revoked`: aggregates leave revoked rows out, listings show them with their flag.
 * The range test is on the raw integer, so it is exact for any value_decimals.
 */
export const feedbackScore: SQL = sql`case
  when (tag1 = '' or tag1 in (${sql.join(
    SCORE_TAGS.map((tag) => sql`${tag}`),
    sql`, `,
  )}))
    and value >= ${literal(SCORE_MIN)} * ${scale}
    and value <= ${literal(SCORE_MAX)} * ${scale}
  then value / ${scale}
end`;

/** reputation_score (float8) from the sum and count of scores; NULL when there are none. */
export function reputationScore(scoreSum: SQL, scoreCount: SQL): SQL {
  const prior = literal(REPUTATION_PRIOR_WEIGHT);
  const priorSum = literal(REPUTATION_PRIOR_SCORE * REPUTATION_PRIOR_WEIGHT);
  return sql`case when ${scoreCount} > 0 then round(
    (${scoreSum} + ${priorSum}) / (${scoreCount} + ${prior}) / 100, ${literal(REPUTATION_SCORE_DECIMALS)}
  )::float8 end`;
}

/** average_score (float8) over a column of scores; NULL when there are none. */
export function averageScore(score: SQL): SQL {
  return sql`round(avg(${score}), ${literal(AVERAGE_SCORE_DECIMALS)})::float8`;
}

/** Count filters over a column of scores, by the positive / neutral / negative thresholds. */
export function isPositive(score: SQL): SQL {
  return sql`${score} >= ${literal(POSITIVE_MIN_SCORE)}`;
}
export function isNeutral(score: SQL): SQL {
  return sql`${score} >= ${literal(NEUTRAL_MIN_SCORE)} and ${score} < ${literal(POSITIVE_MIN_SCORE)}`;
}
export function isNegative(score: SQL): SQL {
  return sql`${score} < ${literal(NEUTRAL_MIN_SCORE)}`;
}

/** Whether a `validations` row passed. */
export const validationPassed: SQL = sql`response >= ${literal(VALIDATION_PASS_MIN_RESPONSE)}`;

/** pass_rate (float8) from passed and total counts; NULL when total is 0. */
export function passRate(passed: SQL, total: SQL): SQL {
  return sql`case when ${total} > 0 then round(${passed}::numeric / ${total}, ${literal(PASS_RATE_DECIMALS)})::float8 end`;
}
