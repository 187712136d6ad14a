import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';
import { findUnstorable } from '../db/unstorable.js';
import type { AnyDomainError } from '../domain/errors.js';
import { asClientAbort, ClientAbortedError } from './client-aborted.js';
import type { Answer, errorAnswer } from './responses.js';

/** The REST error codes and their HTTP statuses: one envelope `{ error: { code, message, reason?, details?, requestId } }`. */
export const API_ERROR_STATUS = {
  invalid_request: 400,
  unauthorized: 401,
  /** an x402 payment is needed, or the one sent did not pay (PAYMENT-REQUIRED says what would) */
  payment_required: 402,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  unprocessable: 422,
  payload_too_large: 413,
  rate_limited: 429,
  /** a tool that failed on its side (its upstream, its timeout): the call is not charged */
  tool_failed: 502,
  unavailable: 503,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ApiErrorCode = keyof typeof API_ERROR_STATUS;
export const API_ERROR_CODES = Object.keys(API_ERROR_STATUS) as [ApiErrorCode, ...ApiErrorCode[]];

export class ApiError extends Error {
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    /** a machine-readable cause within the code, e.g. `wrong_domain` for an `unauthorized` sign-in */
    readonly reason?: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/**
 * The one place a domain refusal becomes a REST error (docs/adr/0010). The REST API names a page
 * token a cursor, so a token we never issued is told in those words.
 */
export function apiErrorOf(error: AnyDomainError): ApiError {
  switch (error.kind) {
    case 'task_not_found':
      return new ApiError('not_found', `no task ${error.taskId} in this organization`, 'unknown_task');
    case 'task_not_cancelable':
    case 'credit_refused':
    case 'spend_cap_exceeded':
    case 'unsupported_operation':
      return new ApiError('conflict', error.message, error.reason, error.details);
    case 'tool_not_allowed':
      return new ApiError('forbidden', error.message, error.reason, error.details);
    case 'payment_refused':
      return new ApiError('payment_required', error.message, error.reason, error.details);
    case 'invalid_input':
      if (error.reason === 'invalid_page_token')
        return new ApiError('invalid_request', 'cursor is not one this API returned', 'invalid_query');
      return new ApiError('invalid_request', error.message, error.reason, error.details);
  }
}

export function apiErrorResponse(c: Context, error: ApiError) {
  const requestId = c.get('requestId') as string | undefined;
  if (error.code === 'unauthorized') c.header('WWW-Authenticate', 'Bearer realm="a2a-paygate"');
  return c.json(
    {
      error: {
        code: error.code,
        message: error.message,
        ...(error.reason ? { reason: error.reason } : {}),
        ...(error.details === undefined ? {} : { details: error.details }),
        requestId,
      },
    } satisfies Answer<typeof errorAnswer>,
    API_ERROR_STATUS[error.code],
  );
}

/** A 400 that lists each issue zod found, by path. */
function invalidInput(reason: 'invalid_body' | 'invalid_query', message: string, error: z.ZodError): ApiError {
  return new ApiError(
    'invalid_request',
    message,
    reason,
    error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
  );
}

/** The request's JSON body parsed by `schema`, or a 400 that lists what is wrong. */
export async function jsonBody<Schema extends z.ZodType>(c: Context, schema: Schema): Promise<z.output<Schema>> {
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch (error) {
    const aborted = asClientAbort(c, error);
    if (aborted instanceof ClientAbortedError) throw aborted;
    throw new ApiError('invalid_request', 'the body must be JSON', 'malformed_json');
  }
  // What PostgreSQL cannot store is refused here, for every route, as the JSON-RPC params are.
  const unstorable = findUnstorable(raw);
  if (unstorable) throw new ApiError('invalid_request', 'the body holds text the gateway cannot store', 'invalid_body', [unstorable]);
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw invalidInput('invalid_body', 'the body does not match the expected shape', parsed.error);
  return parsed.data;
}

/** The query string parsed by `schema`, or a 400 that lists what is wrong. */
export function queryOf<Schema extends z.ZodType>(c: Context, schema: Schema): z.output<Schema> {
  const raw = c.req.query();
  const unstorable = findUnstorable(raw);
  if (unstorable) throw new ApiError('invalid_request', 'the query holds text the gateway cannot store', 'invalid_query', [unstorable]);
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw invalidInput('invalid_query', 'the query parameters are not valid', parsed.error);
  return parsed.data;
}
