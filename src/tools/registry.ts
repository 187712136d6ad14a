import { z } from 'zod';
import { getAgentProfile } from './executors/get-agent-profile.js';
import { getMyFeedbacks } from './executors/get-my-feedbacks.js';
import { getReputationSummary } from './executors/get-reputation-summary.js';
import { getTrend } from './executors/get-trend.js';
import { getValidationHistory } from './executors/get-validation-history.js';
import { displayUsdc } from './money.js';
import { agentIdParam, pageParams } from './params.js';
import { defineTool, type ToolDefinition, type ToolTier } from './types.js';

/** Prices per tier in micro-USDC (Tier 2 is reserved and has no tools yet). */
export const TIER_COST: Readonly<Record<ToolTier, bigint | null>> = {
  0: 1_000n,
  1: 10_000n,
  2: null,
  3: 200_000n,
};

export const TIER_NAME: Readonly<Record<ToolTier, string>> = {
  0: 'Raw Data',
  1: 'Aggregated',
  2: 'Analysis',
  3: 'AI-Powered',
};

const PERIOD = /^([1-9]\d{0,2})d$/;

const TOOLS: readonly ToolDefinition[] = [
  defineTool({
    name: 'getMyFeedbacks',
    tier: 0,
    costMicroUsdc: 1_000n,
    settlement: 'instant',
    description: 'Feedback records for an agent from the ERC-8004 reputation registry, newest first, paginated.',
    version: '1.0.0',
    params: z.strictObject({
      agentId: agentIdParam,
      ...pageParams,
      includeRevoked: z.boolean().default(false).describe('include revoked feedback'),
    }),
    enabled: true,
    example: { agentId: 1, limit: 20 },
    execute: getMyFeedbacks,
  }),
  defineTool({
    name: 'getAgentProfile',
    tier: 0,
    costMicroUsdc: 1_000n,
    settlement: 'instant',
    description: 'Agent profile and metadata from the ERC-8004 identity registry.',
    version: '1.0.0',
    params: z.strictObject({ agentId: agentIdParam }),
    enabled: true,
    example: { agentId: 1 },
    execute: getAgentProfile,
  }),
  defineTool({
    name: 'getReputationSummary',
    tier: 1,
    costMicroUsdc: 10_000n,
    settlement: 'instant',
    description: 'Aggregated reputation statistics for an agent: counts, average score, reputation score.',
    version: '1.0.0',
    params: z.strictObject({ agentId: agentIdParam }),
    enabled: true,
    example: { agentId: 1 },
    execute: getReputationSummary,
  }),
  defineTool({
    name: 'getTrend',
    tier: 1,
    costMicroUsdc: 10_000n,
    settlement: 'instant',
    description: 'Reputation score over time for an agent, bucketed, with a trend word and change percent.',
    version: '1.0.0',
    params: z.strictObject({
      agentId: agentIdParam,
      period: z
        .string()
        .regex(PERIOD, 'period is a number of days such as "7d", "30d" or "90d"')
        .refine((value) => Number(PERIOD.exec(value)?.[1]) <= 365, 'period is at most "365d"')
        .default('30d')
        .describe('look-back window in days, "1d".."365d"'),
    }),
    enabled: true,
    example: { agentId: 1, period: '30d' },
    execute: getTrend,
  }),
  defineTool({
    name: 'getValidationHistory',
    tier: 1,
    costMicroUsdc: 10_000n,
    settlement: 'instant',
    description: 'Validation responses for an agent from the ERC-8004 validation registry, with pass rate.',
    version: '1.0.0',
    params: z.strictObject({ agentId: agentIdParam, ...pageParams }),
    enabled: true,
    example: { agentId: 1 },
    execute: getValidationHistory,
  }),
  defineTool({
    name: 'getReputationReport',
    tier: 3,
    costMicroUsdc: 200_000n,
    settlement: 'hold',
    description: 'AI-generated reputation analysis report for an agent.',
    version: '0.1.0',
    params: z.strictObject({ agentId: agentIdParam, includeRecommendations: z.boolean().default(true) }),
    enabled: false,
    disabledReason: 'no LLM is configured for AI-powered tools',
    example: { agentId: 1, includeRecommendations: true },
    execute: async () => {
      throw new Error('getReputationReport is disabled');
    },
  }),
];

const BY_NAME = new Map(TOOLS.map((tool) => [tool.name, tool]));

/** The entry for a name, enabled or not. */
export function findTool(name: string): ToolDefinition | undefined {
  return BY_NAME.get(name);
}

export function isValidTool(name: string): boolean {
  return BY_NAME.get(name)?.enabled === true;
}

export function toolCost(name: string): bigint | undefined {
  return BY_NAME.get(name)?.costMicroUsdc;
}

export function toolCostDisplay(name: string): string | undefined {
  const cost = toolCost(name);
  return cost === undefined ? undefined : displayUsdc(cost);
}

export function toolTier(name: string): ToolTier | undefined {
  return BY_NAME.get(name)?.tier;
}

export function listTools(): readonly ToolDefinition[] {
  return TOOLS;
}

export function listEnabledTools(): ToolDefinition[] {
  return TOOLS.filter((tool) => tool.enabled);
}

export function listToolsByTier(tier: ToolTier): ToolDefinition[] {
  return listEnabledTools().filter((tool) => tool.tier === tier);
}

/** The JSON Schema of a tool's arguments, as agents should send them. */
export function toolArgumentsSchema(tool: ToolDefinition): Record<string, unknown> {
  return z.toJSONSchema(tool.params, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}
