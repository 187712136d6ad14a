import { z } from 'zod';
import type { KeyCache } from '../../auth/key-cache.js';
import { isDomainError } from '../../domain/errors.js';
import { JsonText } from '../../domain/json-text.js';
import type { Observer } from '../../domain/observer.js';
import type { TaskView } from '../../domain/task-model.js';
import type { RateLimiter } from '../../limits/rate-limiter.js';
import { sendMessage } from '../../tasks/service.js';
import { toolCallMessage } from '../../tasks/tool-call.js';
import { ApiError, apiErrorResponse } from '../api-errors.js';
import { type RefuseCall, requireApiKey } from '../api-key-auth.js';
import { type PaidCallDeps, paidCallContext, requestObserver } from '../paid-call-context.js';
import { limitPaidCalls } from '../paid-call-rate-limit.js';
import { display, micro } from '../responses.js';
import { json, jsonRequest, restRoute, restRouter } from '../rest-route.js';

/** Printable ASCII, as an Idempotency-Key header is written; at most 200 characters, as an A2A messageId. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;

const callAnswer = z.strictObject({
  task_id: z.uuid().describe('the task in the billing API (GET /v1/tasks/{id})'),
  tool: z.string(),
  tool_version: z.string(),
  deprecation: z.string().optional().describe('set when the version called is deprecated: which to move to'),
  cost_micro_usdc: micro,
  cost_display: display,
  charged: z.literal(true),
  result: z.record(z.string(), z.unknown()).describe("the tool's answer"),
});

export const callToolRoute = restRoute({
  method: 'post',
  path: '/v1/tools/{name}/call',
  summary:
    "Call a tool with its arguments as the body: a paid call from the organization's credits, charged only when it answers, once per Idempotency-Key",
  access: 'paid_call',
  refusals: [403, 404, 409, 502],
  request: {
    params: z.object({ name: z.string().max(200).describe('the tool, as GET /v1/tools names it') }),
    query: z.strictObject({
      version: z
        .string()
        .min(1)
        .max(64, 'must be at most 64 characters')
        .optional()
        .describe('an exact version or a semver range (^1.2); none: the newest active'),
    }),
    headers: z.object({
      'idempotency-key': z
        .string()
        .optional()
        .describe('up to 200 printable ASCII characters: the same key from the same organization is one call, charged once'),
    }),
    ...jsonRequest(z.record(z.string(), z.unknown()).describe("the tool's arguments (GET /v1/tools gives each tool's JSON Schema)")),
  },
  responses: { 200: json(callAnswer, 'the answer, charged') },
});

/** The refusals that say the tool does not exist as named: the path names nothing. */
const NO_SUCH_TOOL: ReadonlySet<string> = new Set(['unknown_tool', 'tool_retired', 'no_matching_version', 'tool_disabled']);

const refuseRest: RefuseCall = (c, status, error) => {
  const reason = (error.data as { reason?: string } | undefined)?.reason;
  if (status === 401) return apiErrorResponse(c, new ApiError('unauthorized', error.message.replace(/^Unauthorized: /, ''), reason));
  if (status === 429) return apiErrorResponse(c, new ApiError('rate_limited', error.message, reason, error.data));
  return apiErrorResponse(c, new ApiError('unavailable', 'the gateway could not check the API key; try again shortly', 'unavailable'));
};

/** What a caller is told of a task that ended without an answer: the tool's failure, which cost nothing. */
function failedCall(view: TaskView): ApiError {
  const error = (
    view.statusMessage?.parts.find((part) => part.kind === 'data')?.data as {
      error?: { reason: string; message: string; details?: unknown };
    }
  )?.error;
  return new ApiError(
    'tool_failed',
    error?.message ?? `the call ended ${view.state}; nothing was charged`,
    error?.reason ?? 'tool_failed',
    {
      task_id: view.id,
      ...(error?.details === undefined ? {} : { error: error.details }),
    },
  );
}

function resultOf(view: TaskView): Record<string, unknown> {
  const data = view.artifacts[0]?.parts.find((part) => part.kind === 'data')?.data;
  return (data instanceof JsonText ? JSON.parse(data.text) : (data ?? {})) as Record<string, unknown>;
}

/**
 * POST /v1/tools/{name}/call for clients that speak neither A2A nor MCP: the arguments as the body,
 * the API key as a bearer token, through the same paid path (tasks/service.ts `sendMessage`). A
 * held tool's call waits for its answer. Refusals are the REST envelope with the reasons every
 * surface uses; a tool that fails on its side is 502 `tool_failed`, and free.
 */
export function toolCallRoutes(deps: PaidCallDeps & { keys: KeyCache; rateLimiter: RateLimiter; observe: Observer }) {
  const api = restRouter();
  api.add(
    callToolRoute,
    async (c) => {
      const { name } = c.req.param();
      const { version } = c.req.valid('query');
      const args = c.req.valid('json');
      const idempotencyKey = c.req.header('idempotency-key');
      if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
        throw new ApiError('invalid_request', 'Idempotency-Key is 1 to 200 printable ASCII characters', 'invalid_idempotency_key');
      }
      const ctx = paidCallContext(c, deps, requestObserver(c, deps.observe, deps.keys));
      let view: TaskView;
      try {
        view = await sendMessage({
          ctx,
          input: {
            message: toolCallMessage({
              name,
              arguments: args,
              ...(version ? { version } : {}),
              ...(idempotencyKey ? { idempotencyKey } : {}),
            }),
            historyLength: 0,
          },
        });
      } catch (error) {
        if (isDomainError(error) && NO_SUCH_TOOL.has(error.reason))
          throw new ApiError('not_found', error.message, error.reason, error.details);
        throw error;
      }
      if (view.metadata.tool !== name) {
        const usedFor = view.metadata.tool;
        throw new ApiError(
          'conflict',
          usedFor
            ? `this Idempotency-Key was already used for a call of ${usedFor}`
            : 'this Idempotency-Key was already used for a message without a tool call',
          'idempotency_key_reused',
          { used_for: usedFor ?? null },
        );
      }
      if (view.state !== 'completed') throw failedCall(view);
      return c.json(
        {
          task_id: view.id,
          tool: name,
          tool_version: view.metadata.tool_version ?? '',
          ...(view.metadata.deprecation ? { deprecation: view.metadata.deprecation } : {}),
          cost_micro_usdc: view.metadata.cost_micro_usdc,
          cost_display: view.metadata.cost_display,
          charged: true as const,
          result: resultOf(view),
        },
        200,
      );
    },
    requireApiKey(deps.keys, deps.clock, refuseRest),
    limitPaidCalls(deps.rateLimiter, refuseRest, deps.observe),
  );
  return api.router;
}
