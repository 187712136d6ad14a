import { listFeedbacks } from '../../data/feedbacks.js';
import type { ToolContext } from '../types.js';
import { type AgentArgs, agentIdJson, agentNotFound } from './agent.js';
import { nextOffset, type PageArgs } from './pagination.js';

export interface FeedbacksArgs extends AgentArgs, PageArgs {
  readonly includeRevoked: boolean;
}

export type FeedbackJson = {
  id: string;
  score: number | null;
  value: string;
  value_decimals: number;
  tag1: string;
  tag2: string;
  client_address: string;
  feedback_index: string;
  endpoint: string;
  feedback_uri: string;
  revoked: boolean;
  created_at: string;
};

export type FeedbacksResult = {
  agent_id: number | string;
  feedbacks: FeedbackJson[];
  total: number;
  limit: number;
  offset: number;
  next_offset: number | null;
};

export const getMyFeedbacks = async (args: FeedbacksArgs, ctx: ToolContext): Promise<FeedbacksResult> => {
  const page = await listFeedbacks(ctx.db, args);
  if (page === undefined) throw agentNotFound(args.agentId);
  return {
    agent_id: agentIdJson(args.agentId),
    feedbacks: page.feedbacks.map((feedback) => ({
      id: feedback.id,
      score: feedback.score,
      value: feedback.value,
      value_decimals: feedback.valueDecimals,
      tag1: feedback.tag1,
      tag2: feedback.tag2,
      client_address: feedback.clientAddress,
      feedback_index: feedback.feedbackIndex,
      endpoint: feedback.endpoint,
      feedback_uri: feedback.feedbackUri,
      revoked: feedback.revoked,
      created_at: feedback.createdAt,
    })),
    total: page.total,
    limit: args.limit,
    offset: args.offset,
    next_offset: nextOffset(args, page.feedbacks.length, page.total),
  };
};
