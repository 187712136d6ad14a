import { findAgentProfile } from '../../data/agents.js';
import { JsonText } from '../../domain/json-text.js';
import type { ToolContext } from '../types.js';
import { type AgentArgs, agentIdJson, agentNotFound } from './agent.js';

export type AgentProfileResult = {
  agent_id: number | string;
  name: string | null;
  description: string | null;
  owner: string;
  metadata_uri: string | null;
  created_at: string;
  is_active: boolean | null;
};

/** The answer is serialised here once and passed on as JSON text (issue 18). */
export const getAgentProfile = async (args: AgentArgs, ctx: ToolContext): Promise<JsonText> => {
  const profile = await findAgentProfile(ctx.db, args.agentId);
  if (profile === undefined) throw agentNotFound(args.agentId);
  return new JsonText(
    JSON.stringify({
      agent_id: agentIdJson(args.agentId),
      name: profile.name,
      description: profile.description,
      owner: profile.ownerAddress,
      metadata_uri: profile.agentUri,
      created_at: profile.createdAt,
      is_active: profile.active,
    } satisfies AgentProfileResult),
  );
};
