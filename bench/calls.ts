/** The tool calls the scenarios send, as A2A 1.0 SendMessage JSON-RPC requests or MCP tools/call requests. */

export interface ToolCall {
  tool: string;
  arguments: Record<string, string | number | boolean>;
}

export type CallPicker = () => ToolCall;

function randomAgentId(agents: number): number {
  return 1 + Math.floor(Math.random() * agents);
}

/** Tier 0 (raw data): a profile or a page of feedback, for a random agent. */
export function tier0Calls(agents: number): CallPicker {
  return (): ToolCall => {
    const agentId = randomAgentId(agents);
    return Math.random() < 0.5
      ? { tool: 'getAgentProfile', arguments: { agentId } }
      : { tool: 'getMyFeedbacks', arguments: { agentId, limit: 10, offset: 0 } };
  };
}

/** Tier 1 (aggregated): summary, 30-day trend or validation history, for a random agent. */
export function tier1Calls(agents: number): CallPicker {
  return (): ToolCall => {
    const agentId = randomAgentId(agents);
    const pick = Math.floor(Math.random() * 3);
    if (pick === 0) return { tool: 'getReputationSummary', arguments: { agentId } };
    if (pick === 1) return { tool: 'getTrend', arguments: { agentId, period: '30d' } };
    return { tool: 'getValidationHistory', arguments: { agentId, limit: 10 } };
  };
}

/** `first` with probability `share`, `second` otherwise. */
export function mixCalls(first: CallPicker, share: number, second: CallPicker): CallPicker {
  return () => (Math.random() < share ? first() : second());
}

/** Unique message ids: a per-run prefix and a counter, so no call is an idempotent replay of another. */
export function messageIds(prefix: string): () => string {
  let next = 0;
  return () => `${prefix}-${(next++).toString(36)}`;
}

export interface JsonRpcRequest {
  jsonrpc: '2.0';
  id: number;
  method: 'SendMessage';
  params: { message: { messageId: string; role: 'ROLE_USER'; parts: [{ data: ToolCall }] } };
}

export function sendMessage(id: number, messageId: string, call: ToolCall): JsonRpcRequest {
  return {
    jsonrpc: '2.0',
    id,
    method: 'SendMessage',
    params: { message: { messageId, role: 'ROLE_USER', parts: [{ data: call }] } },
  };
}

export interface McpToolsCallRequest {
  jsonrpc: '2.0';
  id: number;
  method: 'tools/call';
  params: { name: string; arguments: ToolCall['arguments']; _meta: { idempotencyKey: string } };
}

/** The same call as an MCP tools/call; `idempotencyKey` plays the messageId's part (a unique one is a new call). */
export function mcpToolsCall(id: number, idempotencyKey: string, call: ToolCall): McpToolsCallRequest {
  return { jsonrpc: '2.0', id, method: 'tools/call', params: { name: call.tool, arguments: call.arguments, _meta: { idempotencyKey } } };
}
