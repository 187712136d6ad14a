import { summarizeFeedbacks } from '../../data/feedbacks.js';
import type { ToolContext } from '../types.js';
import { type AgentArgs, agentIdJson, agentNotFound } from './agent.js';

export type ReputationSummaryResult = {
  agent_id: number | string;
  reputation_score: number | null;
  total_feedbacks: number;
  positive_feedbacks: number;
  negative_feedbacks: number;
  neutral_feedbacks: number;
  unscored_feedbacks: number;
  average_score: number | null;
  computed_at: string;
};

export const getReputationSummary = async (args: AgentArgs, ctx: ToolContext): Promise<ReputationSummaryResult> => {
  const summary = await summarizeFeedbacks(ctx.db, args.agentId);
  if (summary === undefined) throw agentNotFound(args.agentId);
  return {
    agent_id: agentIdJson(args.agentId),
    reputation_score: summary.reputationScore,
    total_feedbacks: summary.total,
    positive_feedbacks: summary.positive,
    negative_feedbacks: summary.negative,
    neutral_feedbacks: summary.neutral,
    unscored_feedbacks: summary.unscored,
    average_score: summary.averageScore,
    computed_at: ctx.now.toISOString(),
  };
};
