import type { Message } from '../domain/task-model.js';
import { displayUsdc } from '../tools/money.js';
import type { ToolRegistry } from '../tools/registry.js';

/** The agent's answer to a message without a tool call: how to call the tools, and what they cost. */
export function instructionsMessage(taskId: string, contextId: string, turn: number, registry: ToolRegistry): Message {
  const tools = registry.listEnabled();
  const lines = tools.map((tool) => `- ${tool.name} (Tier ${tool.tier}, ${displayUsdc(tool.costMicroUsdc)}): ${tool.description}`);
  return {
    messageId: `${taskId}-instructions-${turn}`,
    role: 'agent',
    taskId,
    contextId,
    parts: [
      {
        kind: 'text',
        text: [
          'This gateway sells agent-reputation data, one paid tool call per message.',
          'Reply on this task (or send a new message) with a data part {"tool": "<name>", "arguments": {...}}.',
          'You are charged only when the call completes. Tools:',
          ...lines,
        ].join('\n'),
      },
      {
        kind: 'data',
        data: {
          tools: tools.map((tool) => ({
            name: tool.name,
            tier: tool.tier,
            cost_micro_usdc: tool.costMicroUsdc.toString(),
            cost_display: displayUsdc(tool.costMicroUsdc),
            description: tool.description,
            example: { tool: tool.name, arguments: tool.example },
          })),
        },
      },
    ],
  };
}
