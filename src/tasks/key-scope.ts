import { ToolNotAllowed } from '../domain/errors.js';
import type { ToolRegistry } from '../tools/registry.js';
import type { ToolDefinition } from '../tools/types.js';
import type { CallingKey } from './context.js';

/** Whether the key's policy lets it call `tool`: its tool list (if any) names it, and its tier is within the key's highest. */
export function mayCall(key: CallingKey, tool: ToolDefinition): boolean {
  return (key.tools === null || key.tools.includes(tool.name)) && (key.maxTier === null || tool.tier <= key.maxTier);
}

/** Refuses, before anything runs or is charged, a tool outside the key's tool list or above its tier. */
export function requireToolAllowed(key: CallingKey, tool: ToolDefinition, tools: ToolRegistry): void {
  if (mayCall(key, tool)) return;
  const allowed = tools
    .listEnabled()
    .filter((candidate) => mayCall(key, candidate))
    .map((candidate) => candidate.name);
  throw new ToolNotAllowed(tool.name, allowed, key.maxTier);
}
