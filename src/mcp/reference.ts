import type { MethodDoc } from '../a2a/reference.js';
import { INTERNAL_ERROR, INVALID_PARAMS, RESOURCE_NOT_FOUND, UNAVAILABLE } from './protocol-error.js';
import { MCP_RESOURCES } from './resources.js';

/**
 * What each MCP method the server answers does, in a line (README "MCP hosts" has the details). The
 * server's handlers are the list: test/http/reference-page.test.ts fails when one is registered
 * without a line here.
 */
export const MCP_METHOD_DOCS: Readonly<Record<string, MethodDoc>> = {
  initialize: {
    does: 'Negotiates the protocol revision (2025-11-25 and older); optional, every request stands alone.',
    answers: 'the server’s capabilities (tools, resources) and instructions',
  },
  ping: { does: 'Checks the server answers.', answers: '{}' },
  'tools/list': {
    does: 'Lists the tools this API key may call, 100 a page (cursor), each description starting with its tier and price.',
    answers:
      '{tools: [{name, title, description, inputSchema, outputSchema?, _meta: {priceMicroUsdc, tier, settlement, version}}], nextCursor?}',
  },
  'tools/call': {
    does: 'Calls a tool {name, arguments}, paid like an A2A call; _meta.idempotencyKey makes a retry the same call, _meta.version picks a catalog version.',
    answers:
      'structuredContent and the same JSON as text; _meta {taskId, charged, costMicroUsdc, balanceMicroUsdc}; a refusal is isError with _meta.reason, free',
  },
  'resources/list': { does: 'Lists the resources below.', answers: '{resources}' },
  'resources/read': { does: 'Reads a resource by uri.', answers: '{contents: [{uri, mimeType, text}]}' },
  'notifications/cancelled': {
    does: 'Cancels a running call, on whichever instance runs it; its hold is released.',
    answers: 'nothing (a notification)',
  },
  'notifications/initialized': { does: 'Sent by clients after initialize; nothing to do.', answers: 'nothing (a notification)' },
  'notifications/progress': { does: 'Progress a client reports; ignored.', answers: 'nothing (a notification)' },
};

/** How /mcp refuses, as HTTP statuses and JSON-RPC codes. */
export const MCP_ERROR_DOCS: readonly { readonly code: string; readonly when: string }[] = [
  { code: 'HTTP 401', when: 'no API key or an unknown one, with WWW-Authenticate: Bearer' },
  { code: 'HTTP 403', when: 'a browser Origin that is neither the gateway’s nor in MCP_ALLOWED_ORIGINS (origin_not_allowed)' },
  { code: 'HTTP 400', when: 'a body that is not JSON, a batch (batch_not_supported), a bad request id (invalid_id)' },
  { code: 'HTTP 405', when: 'GET or DELETE: no standalone stream, no session to end' },
  { code: 'HTTP 413', when: 'a body over 100 KB' },
  {
    code: String(INVALID_PARAMS),
    when: 'bad params or _meta; a tool that does not exist as named (data.reason: unknown_tool, tool_retired, …)',
  },
  { code: String(RESOURCE_NOT_FOUND), when: 'no resource with that uri' },
  { code: String(INTERNAL_ERROR), when: 'an internal error, logged under data.requestId' },
  {
    code: String(UNAVAILABLE),
    when: 'the database cannot be reached or is restarting (data.reason: database_unavailable, data.retryAfterSeconds); the API-key check answers it as HTTP 503 with Retry-After. Retry a tools/call with the same _meta.idempotencyKey: it is charged once',
  },
  {
    code: 'isError',
    when: 'a tools/call refused or failed, free: insufficient_credits, no_credit_account, spend_cap_exceeded, tool_not_allowed, invalid_arguments, agent_not_found, rate_limited, the tool’s own failure',
  },
];

export interface McpReference {
  readonly methods: readonly (MethodDoc & { readonly name: string })[];
  readonly resources: readonly { readonly uri: string; readonly title: string; readonly description: string }[];
  readonly errors: typeof MCP_ERROR_DOCS;
}

/** The MCP endpoint as the API reference page prints it. */
export function mcpReference(): McpReference {
  return {
    methods: Object.entries(MCP_METHOD_DOCS).map(([name, doc]) => ({ name, ...doc })),
    resources: MCP_RESOURCES.map((resource) => ({
      uri: resource.uri,
      title: resource.title ?? resource.name,
      description: resource.description ?? '',
    })),
    errors: MCP_ERROR_DOCS,
  };
}
