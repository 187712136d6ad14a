import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { InvalidInput } from '../domain/errors.js';
import { describeIssues } from '../domain/issues.js';
import type { Message } from '../domain/task-model.js';
import type { ToolRegistry } from '../tools/registry.js';
import type { ToolDefinition } from '../tools/types.js';
import type { CalledVersion } from './store.js';

export interface ToolCall {
  tool: ToolDefinition;
  /** the arguments after the tool's schema: defaults applied, types coerced */
  arguments: unknown;
  /** the arguments as the caller sent them, kept on the task */
  rawArguments: Record<string, unknown>;
}

const toolCallShape = z.object({
  tool: z.string().min(1, 'tool must name a tool').max(200, 'tool names are at most 200 characters'),
  version: z.string().min(1).max(64, 'a version or range is at most 64 characters').optional(),
  arguments: z.record(z.string(), z.unknown()).default({}),
});

function isToolCallPart(data: unknown): data is Record<string, unknown> {
  return typeof data === 'object' && data !== null && !Array.isArray(data) && 'tool' in data;
}

/** The built-in tools' names, told with an unknown tool (the catalog's, perhaps thousands, are found at GET /v1/tools). */
const validToolNames = (tools: ToolRegistry) => tools.listEnabled().map((tool) => tool.name);

/** Where an agent finds every tool, told with a name or version it got wrong. */
const SEE_CATALOG = 'GET /v1/tools lists every tool and its versions';

/** The tool and version a call names, or the -32602 that says why there is none. */
function resolveTool(tools: ToolRegistry, name: string, range: string | undefined): ToolDefinition {
  const found = tools.resolve(name, range);
  switch (found.kind) {
    case 'found':
      return found.tool;
    case 'unknown_tool':
      throw new InvalidInput('unknown_tool', `unknown tool "${name}"`, { tool: name, validTools: validToolNames(tools), see: SEE_CATALOG });
    case 'retired':
      throw new InvalidInput('tool_retired', `${name} ${found.version} is retired and takes no calls`, {
        tool: name,
        version: found.version,
      });
    case 'invalid_version':
      throw new InvalidInput('invalid_version', `"${range}" is neither a version nor a semver range`, { tool: name, version: range });
    case 'no_matching_version':
      throw new InvalidInput('no_matching_version', `no version of ${name} that takes calls satisfies "${range}"`, {
        tool: name,
        version: range,
        versions: found.versions,
        see: SEE_CATALOG,
      });
  }
}

/**
 * Finds the message's tool call, `{"tool": "<name>", "version": "^1.2", "arguments": {...}}` in a
 * data part (`version` optional: the newest active version), and checks it against the tools. No tool call: undefined (not an error). A bad one: InvalidInput.
 */
export function readToolCall(message: Message, tools: ToolRegistry): ToolCall | undefined {
  const candidates = message.parts.flatMap((part) => (part.kind === 'data' && isToolCallPart(part.data) ? [part.data] : []));
  if (candidates.length === 0) return undefined;
  if (candidates.length > 1) {
    throw new InvalidInput('multiple_tool_calls', 'one tool call per message', { count: candidates.length });
  }
  const shape = toolCallShape.safeParse(candidates[0]);
  if (!shape.success) {
    throw new InvalidInput(
      'invalid_tool_call',
      'a tool call is {"tool": "<name>", "version": "<optional version or range>", "arguments": {...}}',
      {
        issues: describeIssues(shape.error),
      },
    );
  }
  const { tool: name, version, arguments: rawArguments } = shape.data;
  const tool = resolveTool(tools, name, version);
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

/**
 * What a task keeps of its call's tool: the version, the price, and for a provider's tool what the
 * provider earns when the call is charged, the price less the platform's fee of `platformFeeBps`
 * basis points (rounded down: the fee never takes more than its share), fixed now with the price.
 */
export function calledVersion(call: ToolCall, platformFeeBps: number): CalledVersion {
  const { tool } = call;
  const cost = tool.costMicroUsdc;
  return {
    tool: tool.name,
    toolVersion: tool.version,
    deprecationNote: tool.deprecationNote ?? null,
    cost,
    providerOrgId: tool.providerOrgId ?? null,
    providerEarning: tool.providerOrgId ? cost - (cost * BigInt(platformFeeBps)) / 10_000n : null,
  };
}

/**
 * The message an A2A client would send for a call of `name`: how the other surfaces (MCP, plain
 * HTTP) hand a call to `sendMessage`, so it takes the one paid path. `idempotencyKey` becomes its
 * messageId (one namespace per organization); without one every call is its own.
 */
export function toolCallMessage(call: {
  name: string;
  version?: string;
  arguments: Record<string, unknown>;
  idempotencyKey?: string;
}): Message {
  return {
    messageId: call.idempotencyKey ?? randomUUID(),
    role: 'user',
    parts: [
      {
        kind: 'data',
        data: { tool: call.name, ...(call.version === undefined ? {} : { version: call.version }), arguments: call.arguments },
      },
    ],
  };
}
