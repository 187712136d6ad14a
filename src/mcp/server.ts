import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  type CallToolResult,
  CancelledNotificationSchema,
  ListResourcesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import { z } from 'zod';
import { GATEWAY_VERSION } from '../a2a/card.js';
import { DATABASE_RETRY_AFTER_S, isDatabaseUnavailable, warnDatabaseUnavailable } from '../db/unavailable.js';
import { findUnstorable } from '../db/unstorable.js';
import { describeIssues } from '../domain/issues.js';
import type { CallerContext } from '../tasks/context.js';
import { callTool, type SendProgress } from './call-tool.js';
import type { McpCancellations } from './cancellations.js';
import { INTERNAL_ERROR, INVALID_PARAMS, McpProtocolError, RESOURCE_NOT_FOUND, UNAVAILABLE } from './protocol-error.js';
import { MCP_RESOURCES, readResource } from './resources.js';
import { decodeToolsCursor, listToolsFor } from './tool-list.js';

/** What a tools/call may carry in `_meta` besides MCP's own progressToken. */
const callMeta = z.object({
  idempotencyKey: z
    .string()
    .min(1, 'idempotencyKey must not be empty')
    .max(200, 'idempotencyKey is at most 200 characters')
    .optional()
    .describe('the same key from the same organization is one call, charged once'),
  version: z.string().min(1).max(64, 'a version or range is at most 64 characters').optional(),
});

const cursor = z
  .string()
  .max(256, 'cursor is at most 256 characters')
  .transform((value, ctx) => {
    const after = decodeToolsCursor(value);
    if (after === undefined) ctx.addIssue({ code: 'custom', message: 'cursor is not one this server gave' });
    return after ?? z.NEVER;
  })
  .optional();

function invalidParams(error: z.ZodError): McpProtocolError {
  return new McpProtocolError(INVALID_PARAMS, 'invalid params', { reason: 'invalid_params', issues: describeIssues(error) });
}

/** Arguments holding what PostgreSQL cannot store: an input error the model reads, as bad arguments are. */
function unsupportedArguments(issue: { path: string; message: string }): CallToolResult {
  return {
    isError: true,
    content: [
      {
        type: 'text',
        text: `unsupported_input: the arguments hold what cannot be stored (${issue.path}: ${issue.message}). Nothing was charged.`,
      },
    ],
    _meta: { reason: 'unsupported_input', details: { issues: [issue] }, charged: false, costMicroUsdc: '0' },
  };
}

/**
 * The SDK checks elicitation answers with it, which this server never asks for; left out, every
 * Server (one per request) builds an Ajv of its own: 15 % of the gateway's CPU per MCP call in the
 * bench's profile.
 */
const ELICITATION_VALIDATOR = new AjvJsonSchemaValidator();

/** The request this server answers, as the endpoint read it. */
export interface McpRequestContext {
  /** the caller's key and organization, as for an A2A call */
  ctx: CallerContext;
  /** the correlation id given at initialize (docs/adr/0022), when the client sent it back */
  sessionId: string | undefined;
  /** the gateway's base URL, for the agent card */
  baseUrl: string;
  /** x402 per-call payments are taken: the agent card declares the a2a-x402 extension */
  x402: boolean;
  /** the HTTP request's id, told with an internal error so the operator can find its log line */
  requestId: string;
  cancellations: McpCancellations;
  /** counts a tools/call against the key's and organization's rate limits: a refusal to answer instead, or undefined */
  limitCall(): Promise<CallToolResult | undefined>;
  /**
   * Ends a canceled call's response stream without an answer, as MCP asks of a canceled request;
   * false when it cannot (an answer sent as one JSON body, or a stream shared by a batch).
   */
  endUnanswered(requestId: string | number): boolean;
}

export const MCP_INSTRUCTIONS =
  'Pay-per-call tools: ERC-8004 agent-reputation data and a catalog of providers’ tools. Each tool’s description and _meta state its price; ' +
  'a call is charged from your organization’s prepaid USDC credit only when it answers, and refusals (credit, spend cap, rate limit, bad arguments) are free. ' +
  'Send _meta.idempotencyKey to make a retried call count once.';

/**
 * The MCP server for one HTTP request (the endpoint is stateless: any instance answers any
 * request, docs/adr/0022): tools/list and tools/call over the gateway's tools with the caller's
 * key, the price list and agent card as resources, and cancellations passed to whichever
 * instance runs the call.
 */
export function mcpServer(request: McpRequestContext): Server {
  const { ctx } = request;
  const server = new Server(
    { name: 'a2a-paygate', title: 'a2a-paygate', version: GATEWAY_VERSION },
    {
      capabilities: { tools: { listChanged: false }, resources: {} },
      instructions: MCP_INSTRUCTIONS,
      jsonSchemaValidator: ELICITATION_VALIDATOR,
    },
  );
  /**
   * Any error but a protocol refusal is logged and answered as an internal error (its text never
   * leaves the gateway), except the database unavailable: -32050, to be retried.
   */
  const guarded =
    <Args extends unknown[], Result>(handler: (...args: Args) => Result | Promise<Result>) =>
    async (...args: Args): Promise<Result> => {
      try {
        return await handler(...args);
      } catch (error) {
        if (error instanceof McpProtocolError) throw error;
        if (isDatabaseUnavailable(error)) {
          warnDatabaseUnavailable(ctx.log, error);
          throw new McpProtocolError(UNAVAILABLE, 'Unavailable: the database cannot be reached; try again shortly', {
            reason: 'database_unavailable',
            retryAfterSeconds: DATABASE_RETRY_AFTER_S,
          });
        }
        ctx.log.error({ err: error }, 'mcp request failed');
        throw new McpProtocolError(INTERNAL_ERROR, 'Internal error', { requestId: request.requestId });
      }
    };
  server.setRequestHandler(
    ListToolsRequestSchema,
    guarded((list) => {
      const parsed = cursor.safeParse(list.params?.cursor);
      if (!parsed.success) throw invalidParams(parsed.error);
      return listToolsFor(ctx.key, ctx.tools, parsed.data);
    }),
  );
  server.setRequestHandler(
    CallToolRequestSchema,
    guarded(async (call, extra) => {
      const meta = callMeta.safeParse(call.params._meta ?? {});
      if (!meta.success) throw invalidParams(meta.error);
      // text PostgreSQL cannot store (U+0000, an unpaired surrogate) or nesting past its limit: refused before anything runs, as at /a2a
      const badMeta = findUnstorable(call.params._meta);
      if (badMeta) throw new McpProtocolError(INVALID_PARAMS, 'invalid params', { reason: 'unsupported_input', issues: [badMeta] });
      const badArguments = findUnstorable(call.params.arguments);
      if (badArguments) return unsupportedArguments(badArguments);
      const refused = await request.limitCall();
      if (refused) return refused;
      const tracking = request.cancellations.track({ keyId: ctx.key.id, sessionId: request.sessionId, requestId: extra.requestId });
      const token = call.params._meta?.progressToken;
      const progress: SendProgress | undefined =
        token === undefined
          ? undefined
          : (value, message) =>
              extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: value, message } });
      try {
        const result = await callTool({
          ctx,
          call: { name: call.params.name, arguments: call.params.arguments ?? {}, ...meta.data },
          canceled: tracking.signal,
          ...(progress ? { progress } : {}),
        });
        if (result !== 'canceled') return result;
        request.endUnanswered(extra.requestId);
        // dropped when the stream could be ended unanswered; else the client, which stopped waiting, ignores it
        return { isError: true, content: [{ type: 'text', text: 'canceled: the call was canceled and nothing was charged' }] };
      } finally {
        tracking.done();
      }
    }),
  );
  server.setRequestHandler(
    ListResourcesRequestSchema,
    guarded(() => ({ resources: MCP_RESOURCES })),
  );
  server.setRequestHandler(
    ReadResourceRequestSchema,
    guarded((read) => {
      const contents = readResource(read.params.uri, { key: ctx.key, tools: ctx.tools, baseUrl: request.baseUrl, x402: request.x402 });
      const uri = read.params.uri.slice(0, 200);
      if (!contents) throw new McpProtocolError(RESOURCE_NOT_FOUND, `Resource not found: ${uri}`, { uri });
      return contents;
    }),
  );
  server.setNotificationHandler(CancelledNotificationSchema, async (notification) => {
    const { requestId } = notification.params;
    if (requestId === undefined) return;
    await request.cancellations.cancel({ keyId: ctx.key.id, sessionId: request.sessionId, requestId });
  });
  return server;
}
