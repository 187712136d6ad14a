import { z } from 'zod';
import type { ChatCompletion, ChatMessage } from '../llm.js';
import type { ToolContext } from '../types.js';
import { type AgentArgs, agentIdJson } from './agent.js';
import { getAgentProfile } from './get-agent-profile.js';
import { getReputationSummary } from './get-reputation-summary.js';
import { getTrend } from './get-trend.js';
import { getValidationHistory } from './get-validation-history.js';

export interface ReportArgs extends AgentArgs {
  readonly includeRecommendations: boolean;
}

/** What the LLM must answer: the report's fields of the tool registry document. */
const reportShape = z.object({
  summary: z.string().min(1).max(4000),
  strengths: z.array(z.string().min(1).max(500)).max(20),
  weaknesses: z.array(z.string().min(1).max(500)).max(20),
  recommendations: z.array(z.string().min(1).max(500)).max(20).optional(),
  overall_rating: z.string().regex(/^[A-F][+-]?$/, 'a letter grade A+ … F'),
  confidence: z.number().min(0).max(1),
});

/** The model's answer was not the report asked for (not JSON, or not its shape), twice. */
export class MalformedReportError extends Error {
  constructor(readonly issues: string) {
    super(`the LLM did not answer with a report: ${issues}`);
    this.name = 'MalformedReportError';
  }
}

function prompt(facts: Record<string, unknown>, includeRecommendations: boolean): ChatMessage[] {
  return [
    {
      role: 'system',
      content: [
        'You assess the reputation of AI agents from ERC-8004 registry data. Answer with ONE JSON object:',
        '{"summary": string, "strengths": string[], "weaknesses": string[],',
        includeRecommendations ? ' "recommendations": string[],' : '',
        ' "overall_rating": "A+"|"A"|"A-"|"B+"|…|"F", "confidence": number between 0 and 1}.',
        'Base every statement on the data given; say so when the data is thin, and lower the confidence.',
      ].join(''),
    },
    { role: 'user', content: JSON.stringify(facts) },
  ];
}

/**
 * getReputationReport: gathers the agent's profile, summary, 30-day trend and validations (the same
 * reads as the Tier 0/1 tools), asks the LLM for a report, validates it, and asks once more when
 * the answer is malformed. An unknown agent is the caller's mistake (-32602), found before any LLM
 * call; an LLM that fails, answers malformed twice, or is too slow fails the task uncharged.
 */
export function reputationReport(complete: ChatCompletion) {
  return async (args: ReportArgs, ctx: ToolContext): Promise<Record<string, unknown>> => {
    const profile = await getAgentProfile(args, ctx);
    const [summary, trend, validations] = await Promise.all([
      getReputationSummary(args, ctx),
      getTrend({ ...args, period: '30d' }, ctx),
      getValidationHistory({ ...args, limit: 20, offset: 0 }, ctx),
    ]);
    const messages = prompt({ profile, summary, trend, validations }, args.includeRecommendations);
    let issues = '';
    for (let attempt = 1; attempt <= 2; attempt++) {
      const text = await complete(
        attempt === 1
          ? messages
          : [...messages, { role: 'user', content: `Your last answer was not valid: ${issues}. Answer with the JSON object only.` }],
        ctx.signal,
      );
      const report = parseReport(text);
      if (report.success) {
        const { recommendations, ...rest } = report.data;
        return {
          agent_id: agentIdJson(args.agentId),
          ...rest,
          ...(args.includeRecommendations ? { recommendations: recommendations ?? [] } : {}),
          generated_at: ctx.now.toISOString(),
        };
      }
      issues = report.issues;
    }
    throw new MalformedReportError(issues);
  };
}

function parseReport(text: string): { success: true; data: z.output<typeof reportShape> } | { success: false; issues: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { success: false, issues: 'not JSON' };
  }
  const parsed = reportShape.safeParse(json);
  if (parsed.success) return { success: true, data: parsed.data };
  return { success: false, issues: parsed.error.issues.map((issue) => `${issue.path.join('.') || 'answer'}: ${issue.message}`).join('; ') };
}
