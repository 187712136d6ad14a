import type { AnyDomainError } from '../domain/errors.js';
import { RpcCode, RpcError, type RpcErrorCode, type RpcErrorObject } from '../rpc/errors.js';

/** Whose error shape a request gets: A2A 1.0 (`data` an array of typed details) or 0.3 (`data` an object). */
export type ErrorGeneration = '1.0' | '0.3';

/**
 * The A2A-Version header decides: a major version of 1 or more gets the 1.0 shape, anything else
 * the 0.3 one. Without the header it is 0.3, as A2A 1.0 §3.6.2 says an empty version means;
 * @a2a-js/sdk 1.x sends `A2A-Version: 1.0` with every call, and a caller without the header
 * (curl, 0.3 clients) keeps reading `data.reason` whatever the method's name.
 */
export function errorGeneration(a2aVersion: string | undefined): ErrorGeneration {
  const major = /^\s*(\d+)/.exec(a2aVersion ?? '')?.[1];
  return major !== undefined && Number(major) >= 1 ? '1.0' : '0.3';
}

const ERROR_INFO = 'type.googleapis.com/google.rpc.ErrorInfo';
const BAD_REQUEST = 'type.googleapis.com/google.rpc.BadRequest';
const A2A_DOMAIN = 'a2a-protocol.org';
/** the domain of the reasons A2A does not define: authentication and the gateway's own unavailability */
const GATEWAY_DOMAIN = 'a2a-paygate';

/**
 * ErrorInfo.reason per code: A2A 1.0's error names in UPPER_SNAKE_CASE without "Error" (§3.3.2),
 * the standard JSON-RPC ones (§9.5) named the same way.
 */
export const A2A_ERROR_REASONS: Record<RpcErrorCode, { reason: string; domain: string }> = {
  [RpcCode.ParseError]: { reason: 'JSON_PARSE', domain: A2A_DOMAIN },
  [RpcCode.InvalidRequest]: { reason: 'INVALID_REQUEST', domain: A2A_DOMAIN },
  [RpcCode.MethodNotFound]: { reason: 'METHOD_NOT_FOUND', domain: A2A_DOMAIN },
  [RpcCode.InvalidParams]: { reason: 'INVALID_PARAMS', domain: A2A_DOMAIN },
  [RpcCode.InternalError]: { reason: 'INTERNAL', domain: A2A_DOMAIN },
  [RpcCode.Unauthorized]: { reason: 'UNAUTHENTICATED', domain: GATEWAY_DOMAIN },
  [RpcCode.TaskNotFound]: { reason: 'TASK_NOT_FOUND', domain: A2A_DOMAIN },
  [RpcCode.TaskNotCancelable]: { reason: 'TASK_NOT_CANCELABLE', domain: A2A_DOMAIN },
  [RpcCode.PushNotificationNotSupported]: { reason: 'PUSH_NOTIFICATION_NOT_SUPPORTED', domain: A2A_DOMAIN },
  [RpcCode.CreditsOrUnsupported]: { reason: 'UNSUPPORTED_OPERATION', domain: A2A_DOMAIN },
  [RpcCode.ExtendedCardNotConfigured]: { reason: 'EXTENDED_AGENT_CARD_NOT_CONFIGURED', domain: A2A_DOMAIN },
  [RpcCode.VersionNotSupported]: { reason: 'VERSION_NOT_SUPPORTED', domain: A2A_DOMAIN },
  [RpcCode.Unavailable]: { reason: 'UNAVAILABLE', domain: GATEWAY_DOMAIN },
};

/**
 * The one place a domain refusal becomes a JSON-RPC error: its code, its message (-32602 ones say
 * "Invalid params: "), and its data (the refusal reason first, then its details; A2A's own task
 * errors carry the details alone). renderA2AError then shapes `data` per generation.
 */
export function rpcErrorOf(error: AnyDomainError): RpcError {
  switch (error.kind) {
    case 'task_not_found':
      return new RpcError(RpcCode.TaskNotFound, error.message, error.details);
    case 'task_not_cancelable':
      return new RpcError(RpcCode.TaskNotCancelable, error.message, error.details);
    case 'credit_refused':
    case 'spend_cap_exceeded':
    case 'tool_not_allowed':
    case 'unsupported_operation':
    case 'payment_refused':
      return new RpcError(RpcCode.CreditsOrUnsupported, error.message, { reason: error.reason, ...error.details });
    case 'invalid_input':
      return new RpcError(RpcCode.InvalidParams, `Invalid params: ${error.message}`, { reason: error.reason, ...error.details });
  }
}

interface FieldIssue {
  path: string;
  message: string;
}

function isFieldIssues(value: unknown): value is FieldIssue[] {
  return (
    Array.isArray(value) &&
    value.every((item) => typeof item === 'object' && item !== null && typeof item.path === 'string' && typeof item.message === 'string')
  );
}

/** ErrorInfo.metadata is a map of strings: lists are joined with commas, anything else structured is JSON. */
function asMetadataValue(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value) && value.every((item) => typeof item === 'string' || typeof item === 'number')) return value.join(',');
  return JSON.stringify(value);
}

/**
 * The error as the caller's generation reads it. 1.0: `data` is an array holding a
 * google.rpc.ErrorInfo whose metadata carries our details (reason, required, available, taskId …)
 * as strings, plus a google.rpc.BadRequest with one field violation per issue when params failed
 * their schema (§9.5). 0.3: the details object as it is.
 */
export function renderA2AError(error: RpcError, generation: ErrorGeneration): RpcErrorObject {
  if (generation === '0.3') return error.toJSON();
  const { issues, ...details } = error.data ?? {};
  const fieldIssues = isFieldIssues(issues) ? issues : undefined;
  const metadata = Object.fromEntries(
    Object.entries({ ...details, ...(fieldIssues || issues === undefined ? {} : { issues }) })
      .filter(([, value]) => value !== undefined && value !== null)
      .map(([key, value]) => [key, asMetadataValue(value)]),
  );
  const { reason, domain } = A2A_ERROR_REASONS[error.code];
  const errorInfo = { '@type': ERROR_INFO, reason, domain, ...(Object.keys(metadata).length > 0 ? { metadata } : {}) };
  const badRequest = fieldIssues && {
    '@type': BAD_REQUEST,
    fieldViolations: fieldIssues.map((issue) => ({ field: issue.path, description: issue.message })),
  };
  return { code: error.code, message: error.message, data: badRequest ? [errorInfo, badRequest] : [errorInfo] };
}
