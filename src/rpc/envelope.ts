import { rpcErrors, type RpcError, type RpcErrorObject } from './errors.js';

export type RpcId = string | number | null;

export interface RpcRequest {
  readonly id: RpcId;
  /** a request without an `id` member: it runs, and gets no response */
  readonly isNotification: boolean;
  readonly method: string;
  readonly params: unknown;
}

export type RpcResponse =
  | { jsonrpc: '2.0'; id: RpcId; result: unknown }
  | { jsonrpc: '2.0'; id: RpcId; error: RpcErrorObject };

export function resultResponse(id: RpcId, result: unknown): RpcResponse {
  return { jsonrpc: '2.0', id, result };
}

export function errorResponse(id: RpcId, error: RpcError): RpcResponse {
  return { jsonrpc: '2.0', id, error: error.toJSON() };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isValidId(value: unknown): value is RpcId {
  return value === null || typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value));
}

/** Reads one element of a body: a request to run, or the error response it earns. */
export function readRequest(value: unknown): RpcRequest | RpcResponse {
  if (!isRecord(value)) {
    return errorResponse(null, rpcErrors.invalidRequest('a request must be a JSON object'));
  }
  const hasId = Object.hasOwn(value, 'id');
  if (hasId && !isValidId(value.id)) {
    return errorResponse(null, rpcErrors.invalidRequest('id must be a string, a number or null'));
  }
  const id = hasId ? (value.id as RpcId) : null;
  if (value.jsonrpc !== '2.0') {
    return errorResponse(id, rpcErrors.invalidRequest('jsonrpc must be exactly "2.0"'));
  }
  if (typeof value.method !== 'string' || value.method === '') {
    return errorResponse(id, rpcErrors.invalidRequest('method must be a non-empty string'));
  }
  if (Object.hasOwn(value, 'params') && (typeof value.params !== 'object' || value.params === null)) {
    return errorResponse(id, rpcErrors.invalidRequest('params must be an object or an array'));
  }
  return { id, isNotification: !hasId, method: value.method, params: value.params };
}

export function isResponse(value: RpcRequest | RpcResponse): value is RpcResponse {
  return 'jsonrpc' in value;
}
