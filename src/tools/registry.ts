import semver from 'semver';
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
import { defineTool, type ToolDefinition, type ToolLookup, type ToolSource, type ToolTier } from './types.js';

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
    tags: ['erc-8004', 'reputation', 'feedback'],
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
    tags: ['erc-8004', 'identity', 'agent-profile'],
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
    tags: ['erc-8004', 'reputation', 'score'],
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
    tags: ['erc-8004', 'reputation', 'trend'],
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
    tags: ['erc-8004', 'validation'],
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
    tags: ['erc-8004', 'reputation', 'ai', 'report'],
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

/**
 * The tools of one gateway: the compiled-in table (which feeds the price list and the instructions)
 * and, when given, the catalog of upstream tools. A call finds its tool and version through `resolve`.
 */
export interface ToolRegistry {
  /** the entry for a name, enabled or not: a built-in tool, or the version of a catalog tool a call without a version gets */
  find(name: string): ToolDefinition | undefined;
  /** the tool and version a call of `name` gets, with `range` an exact version or a semver range (`^1.2`) */
  resolve(name: string, range?: string): ToolLookup;
  /** every tool a call may name: the enabled built-in tools, then each catalog tool's default version */
  offered(): readonly ToolDefinition[];
  /** whether `name` is a compiled-in tool's (a catalog tool cannot take it) */
  isBuiltIn(name: string): boolean;
  /** the compiled-in tools */
  list(): readonly ToolDefinition[];
  listEnabled(): ToolDefinition[];
  listByTier(tier: ToolTier): ToolDefinition[];
  isValid(name: string): boolean;
  cost(name: string): bigint | undefined;
  costDisplay(name: string): string | undefined;
  tier(name: string): ToolTier | undefined;
}

/** A built-in tool has one version: a call may name it, or a range it satisfies. */
function builtInVersion(tool: ToolDefinition, range: string | undefined): ToolLookup {
  if (range === undefined || semver.valid(range) === tool.version) return { kind: 'found', tool };
  if (semver.valid(range) === null && semver.validRange(range) === null) return { kind: 'invalid_version' };
  if (semver.satisfies(tool.version, range)) return { kind: 'found', tool };
  return { kind: 'no_matching_version', versions: [tool.version] };
}

export function createToolRegistry(
  options: { llm?: { complete: ChatCompletion; timeoutMs: number }; catalog?: ToolSource } = {},
): ToolRegistry {
  const tools: readonly ToolDefinition[] = [...DATA_TOOLS, reputationReportTool(options.llm)];
  const byName = new Map(tools.map((tool) => [tool.name, tool]));
  const listEnabled = () => tools.filter((tool) => tool.enabled);
  const { catalog } = options;
  const enabled: readonly ToolDefinition[] = listEnabled();
  let offeredFor: { catalog: readonly ToolDefinition[]; tools: readonly ToolDefinition[] } | undefined;
  const resolve = (name: string, range?: string): ToolLookup => {
    const builtIn = byName.get(name);
    if (builtIn) return builtInVersion(builtIn, range);
    return catalog?.lookup(name, range) ?? { kind: 'unknown_tool' };
  };
  return {
    find(name) {
      const found = resolve(name);
      return found.kind === 'found' ? found.tool : undefined;
    },
    resolve,
    offered() {
      if (!catalog) return enabled;
      // the same array while the catalog is unchanged, so what is made of it (the card's skills) is made once
      const fromCatalog = catalog.offered();
      if (offeredFor?.catalog !== fromCatalog) offeredFor = { catalog: fromCatalog, tools: [...enabled, ...fromCatalog] };
      return offeredFor.tools;
    },
    isBuiltIn: (name) => byName.has(name),
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
  if (tool.argumentsSchema) return tool.argumentsSchema;
  return z.toJSONSchema(tool.params, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}
