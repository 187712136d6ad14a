import { type FeedbackJson, listFeedbacks } from '../../data/feedbacks.js';
import { type JsonText, jsonObject } from '../../domain/json-text.js';
import type { ToolContext } from '../types.js';
import { type AgentArgs, agentIdJson, agentNotFound } from './agent.js';
import { nextOffset, type PageArgs } from './pagination.js';

export interface FeedbacksArgs extends AgentArgs, PageArgs {
  readonly includeRevoked: boolean;
}

/** The answer's shape, as its JSON text holds it (built by PostgreSQL and passed on as text). */
export type FeedbacksResult = {
  agent_id: number | string;
  feedbacks: FeedbackJson[];
  total: number;
  limit: number;
  offset: number;
  next_offset: number | null;
};

export const getMyFeedbacks = async (args: FeedbacksArgs, ctx: ToolContext): Promise<JsonText> => {
  const page = await listFeedbacks(ctx.db, args);
  if (page === undefined) throw agentNotFound(args.agentId);
  return jsonObject({
    agent_id: agentIdJson(args.agentId),
    feedbacks: page.feedbacks,
    total: page.total,
    limit: args.limit,
    offset: args.offset,
    next_offset: nextOffset(args, page.shown, page.total),
  } satisfies Record<keyof FeedbacksResult, unknown>);
};
