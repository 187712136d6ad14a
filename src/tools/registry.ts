import { z } from 'zod';
import { getAgentProfile } from './executors/get-agent-profile.js';
import { getMyFeedbacks } from './executors/get-my-feedbacks.js';
import { reputationReport } from './executors/get-reputation-report.js';
import { getReputationSummary } from './executors/get-reputation-summary.js';
import { getTrend } from './executors/get-trend.js';
import { getValidationHistory } from './executors/get-validation-history.js';
import type { ChatCompletion } from './llm.js';
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

/** The tools that read only our own database. */
const DATA_TOOLS: readonly ToolDefinition[] = [
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
];

const REPORT_PARAMS = z.strictObject({
  agentId: agentIdParam,
  includeRecommendations: z.boolean().default(true).describe('ask for recommendations too'),
});

/**
 * Tier 3: the report needs an LLM. With one it is a held call (reserved, visible while it runs,
 * cancellable, captured only when a valid report exists); without one it is listed, disabled.
 */
function reputationReportTool(llm: { complete: ChatCompletion; timeoutMs: number } | undefined): ToolDefinition {
  return defineTool({
    name: 'getReputationReport',
    tier: 3,
    costMicroUsdc: 200_000n,
    settlement: 'hold',
    description: 'AI-generated reputation analysis report for an agent: summary, strengths, weaknesses, recommendations, rating.',
    version: '1.0.0',
    params: REPORT_PARAMS,
    enabled: llm !== undefined,
    ...(llm ? { timeoutMs: llm.timeoutMs } : { disabledReason: 'no LLM is configured for AI-powered tools (LLM_BASE_URL, LLM_MODEL)' }),
    example: { agentId: 1, includeRecommendations: true },
    execute: llm
      ? reputationReport(llm.complete)
      : async () => {
          throw new Error('getReputationReport is disabled');
        },
  });
}

/** The tool table of one gateway; the same table feeds validation, the agent card and the price list. */
export interface ToolRegistry {
  /** the entry for a name, enabled or not */
  find(name: string): ToolDefinition | undefined;
  list(): readonly ToolDefinition[];
  listEnabled(): ToolDefinition[];
  listByTier(tier: ToolTier): ToolDefinition[];
  isValid(name: string): boolean;
  cost(name: string): bigint | undefined;
  costDisplay(name: string): string | undefined;
  tier(name: string): ToolTier | undefined;
}

export function createToolRegistry(options: { llm?: { complete: ChatCompletion; timeoutMs: number } } = {}): ToolRegistry {
  const tools: readonly ToolDefinition[] = [...DATA_TOOLS, reputationReportTool(options.llm)];
  const byName = new Map(tools.map((tool) => [tool.name, tool]));
  const listEnabled = () => tools.filter((tool) => tool.enabled);
  return {
    find: (name) => byName.get(name),
    list: () => tools,
    listEnabled,
    listByTier: (tier) => listEnabled().filter((tool) => tool.tier === tier),
    isValid: (name) => byName.get(name)?.enabled === true,
    cost: (name) => byName.get(name)?.costMicroUsdc,
    costDisplay(name) {
      const cost = byName.get(name)?.costMicroUsdc;
      return cost === undefined ? undefined : displayUsdc(cost);
    },
    tier: (name) => byName.get(name)?.tier,
  };
}

/** The JSON Schema of a tool's arguments, as agents should send them. */
export function toolArgumentsSchema(tool: ToolDefinition): Record<string, unknown> {
  return z.toJSONSchema(tool.params, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}
