import type { MiddlewareHandler } from 'hono';
import { z } from 'zod';
import type { KeyCache } from '../../auth/key-cache.js';
import { isDomainError } from '../../domain/errors.js';
import type { Observer } from '../../domain/observer.js';
import type { TaskView } from '../../domain/task-model.js';
import type { RateLimiter } from '../../limits/rate-limiter.js';
import { endsStream, taskWhenEnded } from '../../tasks/follow.js';
import { sendMessage } from '../../tasks/service.js';
import { toolCallMessage } from '../../tasks/tool-call.js';
import { taskAnswer, taskFailure } from '../../tasks/view.js';
import type { X402Payments } from '../../x402/payments.js';
import { ApiError, apiErrorResponse } from '../api-errors.js';
import { type RefuseCall, requireApiKey } from '../api-key-auth.js';
import type { AppEnv } from '../env.js';
import { type PaidCallDeps, paidCallContext, requestObserver } from '../paid-call-context.js';
import { limitPaidCalls } from '../paid-call-rate-limit.js';
import { display, micro } from '../responses.js';
import { json, jsonRequest, restRoute, restRouter } from '../rest-route.js';
import { callPayingWithX402, payableWithoutKey } from './x402-call.js';

/** Printable ASCII, as an Idempotency-Key header is written; at most 200 characters, as an A2A messageId. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;
/** A tool name is at most this long (the A2A tool call's bound); a longer path names no tool. */
const MAX_TOOL_NAME = 200;

const callAnswer = z.strictObject({
  taskId: z.uuid().describe('the task in the billing API (GET /v1/tasks/{id})'),
  tool: z.string(),
  toolVersion: z.string(),
  deprecation: z.string().optional().describe('set when the version called is deprecated: which to move to'),
  costMicroUsdc: micro,
  costDisplay: display,
  charged: z.boolean().describe('false only for a tool whose price is 0'),
  result: z.record(z.string(), z.unknown()).describe("the tool's answer"),
});

export const callToolRoute = restRoute({
  method: 'post',
  path: '/v1/tools/{name}/call',
  summary:
    "Call a tool with its arguments as the body: a paid call from the organization's credits, charged only when it answers, once per Idempotency-Key; or, without an API key, paid per call with x402 v2 (402 with PAYMENT-REQUIRED, then PAYMENT-SIGNATURE; settled only when the tool answered, told in PAYMENT-RESPONSE)",
  access: 'paid_call',
  refusals: [
    // the caller's own mistakes, besides a malformed body
    { status: 400, reasons: ['invalid_arguments', 'invalid_version', 'agent_not_found', 'invalid_idempotency_key'] },
    {
      status: 402,
      reasons: [
        'payment_required',
        'invalid_signature',
        'expired_payment',
        'duplicate_nonce',
        'insufficient_funds',
        'invalid_amount',
        'invalid_recipient',
        'network_mismatch',
        'settlement_failed',
      ],
    },
    { status: 403, reasons: ['tool_not_allowed'] },
    { status: 404, reasons: ['unknown_tool', 'tool_retired', 'no_matching_version', 'tool_disabled'] },
    { status: 409, reasons: ['insufficient_credits', 'no_credit_account', 'spend_cap_exceeded', 'idempotency_key_reused', 'canceled'] },
    { status: 429, reasons: ['payment_rate'] },
    { status: 502, reasons: ['upstream_failed', 'timeout', 'tool_failed'] },
    { status: 503, reasons: ['unavailable'] },
  ],
  request: {
    params: z.object({ name: z.string().max(MAX_TOOL_NAME).describe('the tool, as GET /v1/tools names it') }),
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
        .regex(IDEMPOTENCY_KEY)
        .optional()
        .describe('up to 200 printable ASCII characters: the same key from the same organization is one call, charged once'),
      'payment-signature': z
        .string()
        .optional()
        .describe('without an API key: the base64 x402 v2 payment (an EIP-3009 authorization) for the price PAYMENT-REQUIRED asked'),
    }),
    ...jsonRequest(z.record(z.string(), z.unknown()).describe("the tool's arguments (GET /v1/tools gives each tool's JSON Schema)")),
  },
  responses: {
    200: {
      ...json(callAnswer, 'the answer, charged'),
      headers: z.object({ 'payment-response': z.string().optional().describe('paid with x402: the base64 settlement receipt') }),
    },
  },
});

/** A key check (or the key's rate limits), skipped for a call to be paid per call (x402-call.ts, `payableWithoutKey`). */
function unlessPayingWithX402(check: MiddlewareHandler<AppEnv>): MiddlewareHandler<AppEnv> {
  return (c, next) => (c.get('payingWithX402') ? next() : check(c, next));
}

/** The refusals that say the tool does not exist as named: the path names nothing. */
const NO_SUCH_TOOL: ReadonlySet<string> = new Set(['unknown_tool', 'tool_retired', 'no_matching_version', 'tool_disabled']);

const refuseRest: RefuseCall = (c, status, error) => {
  const reason = (error.data as { reason?: string } | undefined)?.reason;
  if (status === 401) return apiErrorResponse(c, new ApiError('unauthorized', error.message.replace(/^Unauthorized: /, ''), reason));
  if (status === 429) {
    const { reason: _reason, ...details } = (error.data ?? {}) as Record<string, unknown>;
    return apiErrorResponse(c, new ApiError('rate_limited', error.message.replace(/^Rate limited: /, ''), reason, details));
  }
  if (reason === 'database_unavailable')
    return apiErrorResponse(c, new ApiError('unavailable', 'the database cannot be reached; try again shortly', reason));
  return apiErrorResponse(c, new ApiError('unavailable', 'the gateway could not check the API key; try again shortly', 'unavailable'));
};

/** Failures on the tool's side (its upstream, its deadline, an error of its own): the caller did nothing wrong. */
const TOOL_SIDE: ReadonlySet<string> = new Set(['tool_failed', 'timeout', 'upstream_failed']);

/**
 * What a caller is told of a task that ended without an answer, all free: a tool's own failure is
 * 502; a task canceled meanwhile (over A2A, say) 409; the caller's own mistake the tool found (an
 * unknown agent) 400, as when it was first answered, so a retry with the same key gets the same.
 */
function unanswered(view: TaskView): ApiError {
  const failure = taskFailure(view);
  const details = { ...(failure?.details ?? {}), taskId: view.id };
  if (view.state === 'canceled' || !failure) {
    return new ApiError('conflict', `the call was ${view.state} before it answered; nothing was charged`, 'canceled', details);
  }
  if (TOOL_SIDE.has(failure.reason)) return new ApiError('tool_failed', failure.message, failure.reason, details);
  return new ApiError('invalid_request', failure.message, failure.reason, details);
}

/**
 * POST /v1/tools/{name}/call for clients that speak neither A2A nor MCP: the arguments as the body,
 * the API key as a bearer token, through the same paid path (tasks/service.ts `sendMessage`). A
 * held tool's call waits for its answer. Refusals are the REST envelope with the reasons every
 * surface uses; a tool that fails on its side is 502 `tool_failed`, and free. The route's access
 * (`paid_call`) is the key check below: `requireApiKey` before anything else, unless the call is to
 * be paid per call with x402 (no Authorization header on a gateway that takes it: x402-call.ts).
 */
export function toolCallRoutes(
  deps: PaidCallDeps & { keys: KeyCache; rateLimiter: RateLimiter; observe: Observer; x402?: X402Payments; publicUrl?: string },
) {
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
      if (name.length > MAX_TOOL_NAME) throw new ApiError('not_found', 'no tool has so long a name', 'unknown_tool');
      const message = toolCallMessage({
        name,
        arguments: args,
        ...(version ? { version } : {}),
        ...(idempotencyKey ? { idempotencyKey } : {}),
      });
      const observe = requestObserver(c, deps.observe, deps.keys);
      let view: TaskView;
      let paymentResponse: string | undefined;
      try {
        if (c.get('payingWithX402') && deps.x402) {
          const paid = await callPayingWithX402(c, { ...deps, x402: deps.x402, publicUrl: deps.publicUrl }, { message, observe });
          ({ view, paymentResponse } = paid);
        } else {
          view = await sendMessage({ ctx: paidCallContext(c, deps, observe), input: { message, historyLength: 0 } });
        }
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
          { usedFor: usedFor ?? null },
        );
      }
      // the same key sent again while its first call runs: that call's answer, once it has one
      const ended = endsStream(view.state) ? view : await taskWhenEnded(paidCallContext(c, deps, observe), view);
      if (ended.state !== 'completed') throw unanswered(ended);
      if (paymentResponse) c.header('PAYMENT-RESPONSE', paymentResponse);
      return c.json(
        {
          taskId: ended.id,
          tool: name,
          toolVersion: ended.metadata.tool_version ?? '',
          ...(ended.metadata.deprecation ? { deprecation: ended.metadata.deprecation } : {}),
          costMicroUsdc: ended.metadata.cost_micro_usdc,
          costDisplay: ended.metadata.cost_display,
          charged: ended.metadata.charged,
          result: taskAnswer(ended).object,
        },
        200,
      );
    },
    payableWithoutKey(deps.x402, deps.rateLimiter),
    unlessPayingWithX402(requireApiKey(deps.keys, deps.clock, refuseRest)),
    unlessPayingWithX402(limitPaidCalls(deps.rateLimiter, refuseRest, deps.observe)),
  );
  return api.router;
}
