import { changePercent, type TrendBucketDays, type TrendWord, trendBucketDays, trendWord } from '../../data/scores.js';
import { reputationTrend, type TrendPoint } from '../../data/trend.js';
import type { ToolContext } from '../types.js';
import { type AgentArgs, agentIdJson, agentNotFound } from './agent.js';

export interface TrendArgs extends AgentArgs {
  /** "<days>d", already checked by the params schema */
  readonly period: string;
}

export type TrendResult = {
  agent_id: number | string;
  period: string;
  bucket: `${TrendBucketDays}d`;
  data_points: TrendPoint[];
  trend: TrendWord;
  change_percent: number | null;
};

export const getTrend = async (args: TrendArgs, ctx: ToolContext): Promise<TrendResult> => {
  const periodDays = Number.parseInt(args.period, 10);
  const bucketDays = trendBucketDays(periodDays);
  const points = await reputationTrend(ctx.db, {
    agentId: args.agentId,
    now: ctx.now,
    bucketDays,
    bucketCount: Math.ceil(periodDays / bucketDays),
  });
  if (points === undefined) throw agentNotFound(args.agentId);
  const change = changePercent(points.map((point) => point.score));
  return {
    agent_id: agentIdJson(args.agentId),
    period: args.period,
    bucket: `${bucketDays}d`,
    data_points: points,
    trend: trendWord(change),
    change_percent: change,
  };
};
