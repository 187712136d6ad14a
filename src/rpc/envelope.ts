import { type RpcError, type RpcErrorObject, rpcErrors } from './errors.js';

export type RpcId = string | number | null;

export interface RpcRequest {
  readonly id: RpcId;
  /** a request without an `id` member: a JSON-RPC notification, which this endpoint answers and never runs */
  readonly isNotification: boolean;
  readonly method: string;
  readonly params: unknown;
}

/** An element of a body that is not a request: the error it earns, before any method is looked up. */
export interface RpcRefusal {
  readonly kind: 'refusal';
  readonly id: RpcId;
  readonly error: RpcError;
}

export type RpcResponse = { jsonrpc: '2.0'; id: RpcId; result: unknown } | { jsonrpc: '2.0'; id: RpcId; error: RpcErrorObject };

export function resultResponse(id: RpcId, result: unknown): RpcResponse {
  return { jsonrpc: '2.0', id, result };
}

export function errorResponse(id: RpcId, error: RpcErrorObject): RpcResponse {
  return { jsonrpc: '2.0', id, error };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The longest string id a request may carry: it is echoed in every answer (a 401 included), so an
 * unbounded one would let any caller, authenticated or not, make the gateway repeat 100 KB.
 */
export const MAX_RPC_ID_LENGTH = 200;

function isValidId(value: unknown): value is RpcId {
  return (
    value === null ||
    (typeof value === 'string' && value.length <= MAX_RPC_ID_LENGTH) ||
    (typeof value === 'number' && Number.isFinite(value))
  );
}

/** The id of a body holding one request, for an answer given before the body is run (401): null when it has none. */
export function idOf(body: string): RpcId {
  try {
    const value: unknown = JSON.parse(body);
    return isRecord(value) && isValidId(value.id) ? value.id : null;
  } catch {
    return null;
  }
}

const refuse = (id: RpcId, error: RpcError): RpcRefusal => ({ kind: 'refusal', id, error });

/** Reads one element of a body: a request to run, or the refusal it earns. */
export function readRequest(value: unknown): RpcRequest | RpcRefusal {
  if (!isRecord(value)) return refuse(null, rpcErrors.invalidRequest('a request must be a JSON object'));
  const hasId = Object.hasOwn(value, 'id');
  if (hasId && !isValidId(value.id))
    return refuse(null, rpcErrors.invalidRequest(`id must be a string of at most ${MAX_RPC_ID_LENGTH} characters, a number or null`));
  const id = hasId ? (value.id as RpcId) : null;
  if (value.jsonrpc !== '2.0') return refuse(id, rpcErrors.invalidRequest('jsonrpc must be exactly "2.0"'));
  if (typeof value.method !== 'string' || value.method === '') {
    return refuse(id, rpcErrors.invalidRequest('method must be a non-empty string'));
  }
  if (Object.hasOwn(value, 'params') && (typeof value.params !== 'object' || value.params === null)) {
    return refuse(id, rpcErrors.invalidRequest('params must be an object or an array'));
  }
  return { id, isNotification: !hasId, method: value.method, params: value.params };
}

export function isRefusal(value: RpcRequest | RpcRefusal): value is RpcRefusal {
  return 'kind' in value;
}
