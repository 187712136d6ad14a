import { listValidations } from '../../data/validations.js';
import type { ToolContext } from '../types.js';
import { type AgentArgs, agentIdJson, agentNotFound } from './agent.js';
import { nextOffset, type PageArgs } from './pagination.js';

export interface ValidationHistoryArgs extends AgentArgs, PageArgs {}

export type ValidationJson = {
  id: string;
  validator_address: string;
  result: 'passed' | 'failed';
  score: number;
  tag: string;
  request_hash: string;
  timestamp: string;
};

export type ValidationHistoryResult = {
  agent_id: number | string;
  validations: ValidationJson[];
  total: number;
  limit: number;
  offset: number;
  next_offset: number | null;
  pass_rate: number | null;
};

export const getValidationHistory = async (args: ValidationHistoryArgs, ctx: ToolContext): Promise<ValidationHistoryResult> => {
  const page = await listValidations(ctx.db, args);
  if (page === undefined) throw agentNotFound(args.agentId);
  return {
    agent_id: agentIdJson(args.agentId),
    validations: page.validations.map((validation) => ({
      id: validation.id,
      validator_address: validation.validatorAddress,
      result: validation.passed ? 'passed' : 'failed',
      score: validation.response,
      tag: validation.tag,
      request_hash: validation.requestHash,
      timestamp: validation.createdAt,
    })),
    total: page.total,
    limit: args.limit,
    offset: args.offset,
    next_offset: nextOffset(args, page.validations.length, page.total),
    pass_rate: page.passRate,
  };
};
