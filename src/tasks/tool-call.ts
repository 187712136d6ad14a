import { z } from 'zod';
import { InvalidInput } from '../domain/errors.js';
import { describeIssues } from '../domain/issues.js';
import type { Message } from '../domain/task-model.js';
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
 * it against the tool table. No tool call: undefined (not an error). A bad one: InvalidInput.
 */
export function readToolCall(message: Message, tools: ToolRegistry): ToolCall | undefined {
  const candidates = message.parts.flatMap((part) => (part.kind === 'data' && isToolCallPart(part.data) ? [part.data] : []));
  if (candidates.length === 0) return undefined;
  if (candidates.length > 1) {
    throw new InvalidInput('multiple_tool_calls', 'one tool call per message', { count: candidates.length });
  }
  const shape = toolCallShape.safeParse(candidates[0]);
  if (!shape.success) {
    throw new InvalidInput('invalid_tool_call', 'a tool call is {"tool": "<name>", "arguments": {...}}', {
      issues: describeIssues(shape.error),
    });
  }
  const { tool: name, arguments: rawArguments } = shape.data;
  const tool = tools.find(name);
  if (!tool) {
    throw new InvalidInput('unknown_tool', `unknown tool "${name}"`, {
      tool: name,
      validTools: validToolNames(tools),
    });
  }
  if (!tool.enabled) {
    throw new InvalidInput('tool_disabled', `tool "${name}" is disabled: ${tool.disabledReason ?? 'disabled'}`, {
      tool: name,
      why: tool.disabledReason ?? 'disabled',
      validTools: validToolNames(tools),
    });
  }
  const parsed = tool.params.safeParse(rawArguments);
  if (!parsed.success) {
    throw new InvalidInput('invalid_arguments', `arguments do not fit ${name}`, {
      tool: name,
      issues: describeIssues(parsed.error),
    });
  }
  return { tool, arguments: parsed.data, rawArguments };
}
