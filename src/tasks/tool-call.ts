import { z } from 'zod';
import type { Message } from '../a2a/model.js';
import { describeIssues } from '../a2a/issues.js';
import { rpcErrors } from '../rpc/errors.js';
import type { ToolRegistry } from '../tools/registry.js';
import type { ToolDefinition } from '../tools/types.js';

export interface ToolCall {
  tool: ToolDefinition;
  /** the arguments after the tool's schema: defaults applied, types coerced */
  arguments: unknown;
  /** the arguments as the caller sent them, kept on the task */
  rawArguments: Record<string, unknown>;
}

const toolCallShape = z.object({
  tool: z.string().min(1, 'tool must name a tool'),
  arguments: z.record(z.string(), z.unknown()).default({}),
});

function isToolCallPart(data: unknown): data is Record<string, unknown> {
  return typeof data === 'object' && data !== null && !Array.isArray(data) && 'tool' in data;
}

const validToolNames = (tools: ToolRegistry) => tools.listEnabled().map((tool) => tool.name);

/**
 * Finds the message's tool call, `{"tool": "<name>", "arguments": {...}}` in a data part, and checks
 * it against the tool table. No tool call: undefined (not an error). A bad one: -32602.
 */
export function readToolCall(message: Message, tools: ToolRegistry): ToolCall | undefined {
  const candidates = message.parts.flatMap((part) =>
    part.kind === 'data' && isToolCallPart(part.data) ? [part.data] : [],
  );
  if (candidates.length === 0) return undefined;
  if (candidates.length > 1) {
    throw rpcErrors.invalidParams('Invalid params: one tool call per message', {
      reason: 'multiple_tool_calls',
      count: candidates.length,
    });
  }
  const shape = toolCallShape.safeParse(candidates[0]);
  if (!shape.success) {
    throw rpcErrors.invalidParams('Invalid params: a tool call is {"tool": "<name>", "arguments": {...}}', {
      reason: 'invalid_tool_call',
      issues: describeIssues(shape.error),
    });
  }
  const { tool: name, arguments: rawArguments } = shape.data;
  const tool = tools.find(name);
  if (!tool) {
    throw rpcErrors.invalidParams(`Invalid params: unknown tool "${name}"`, {
      reason: 'unknown_tool',
      tool: name,
      validTools: validToolNames(tools),
    });
  }
  if (!tool.enabled) {
    throw rpcErrors.invalidParams(`Invalid params: tool "${name}" is disabled: ${tool.disabledReason ?? 'disabled'}`, {
      reason: 'tool_disabled',
      tool: name,
      why: tool.disabledReason ?? 'disabled',
      validTools: validToolNames(tools),
    });
  }
  const parsed = tool.params.safeParse(rawArguments);
  if (!parsed.success) {
    throw rpcErrors.invalidParams(`Invalid params: arguments do not fit ${name}`, {
      reason: 'invalid_arguments',
      tool: name,
      issues: describeIssues(parsed.error),
    });
  }
  return { tool, arguments: parsed.data, rawArguments };
}
