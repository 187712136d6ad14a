import { ToolInputError } from '../../domain/errors.js';

/** The arguments every tool about one agent takes (after its params schema ran). */
export interface AgentArgs {
  readonly agentId: bigint;
}

/** agent_id as results carry it: a JSON number while it is exact as one, a decimal string beyond. */
export function agentIdJson(agentId: bigint): number | string {
  return agentId <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(agentId) : agentId.toString();
}

export function agentNotFound(agentId: bigint): ToolInputError {
  return new ToolInputError('agent_not_found', `agent ${agentId} is not registered`, {
    agentId: agentId.toString(),
  });
}
