import { RpcCode, RpcError } from '../rpc/errors.js';

/** A request id of at most this many characters; a longer one names no call a cancellation could find. */
export const MAX_REQUEST_ID_CHARS = 200;

/** The notifications this server acts on: a cancellation, and the client's word that it is initialized. */
const HEEDED_NOTIFICATIONS: ReadonlySet<string> = new Set(['notifications/cancelled', 'notifications/initialized']);

/** What one POST to /mcp holds, as the endpoint reads it before the SDK does. */
export type Incoming =
  /** refused before anything runs: HTTP 400 with this error */
  | { kind: 'refused'; error: RpcError }
  /** nothing for this server: a client's response (it sends no requests) or a notification it does not act on; 202 */
  | { kind: 'ignored' }
  | {
      kind: 'message';
      /** the message the SDK is given: a tools/call's `params.task` left out (see readIncoming) */
      message: Record<string, unknown>;
      method: string;
      /** whether its `_meta.progressToken` asks for progress notifications */
      asksForProgress: boolean;
    };

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function validId(id: unknown): boolean {
  return (typeof id === 'string' && id.length <= MAX_REQUEST_ID_CHARS) || (typeof id === 'number' && Number.isSafeInteger(id));
}

/**
 * Reads a POST's parsed body. One JSON-RPC message per request: MCP removed batching in revision
 * 2025-06-18, and a batch would let one POST repeat a request id (two calls charged, one
 * answered) or carry a hundred notifications. A request id is a string of at most
 * MAX_REQUEST_ID_CHARS or a safe integer. A tools/call asking to run as an MCP task
 * (`params.task`) is run as an ordinary call, as MCP asks of a server that does not offer tasks.
 */
export function readIncoming(parsed: unknown): Incoming {
  if (Array.isArray(parsed)) {
    return {
      kind: 'refused',
      error: new RpcError(
        RpcCode.InvalidRequest,
        'Invalid Request: one JSON-RPC message per request (MCP has no batches since 2025-06-18)',
        {
          reason: 'batch_not_supported',
        },
      ),
    };
  }
  if (!isObject(parsed)) {
    return {
      kind: 'refused',
      error: new RpcError(RpcCode.InvalidRequest, 'Invalid Request: a JSON-RPC message is an object', { reason: 'invalid_request' }),
    };
  }
  if ('id' in parsed && !validId(parsed.id)) {
    return {
      kind: 'refused',
      error: new RpcError(
        RpcCode.InvalidRequest,
        `Invalid Request: an id is a string of at most ${MAX_REQUEST_ID_CHARS} characters or an integer`,
        {
          reason: 'invalid_id',
        },
      ),
    };
  }
  const { method } = parsed;
  if (typeof method !== 'string') return 'id' in parsed ? { kind: 'ignored' } : refusedShape();
  if (!('id' in parsed) && !HEEDED_NOTIFICATIONS.has(method)) return { kind: 'ignored' };
  const params = isObject(parsed.params) ? parsed.params : undefined;
  const meta = params && isObject(params._meta) ? params._meta : undefined;
  let message = parsed;
  if (method === 'tools/call' && params && 'task' in params) {
    const { task: _task, ...untasked } = params;
    message = { ...parsed, params: untasked };
  }
  return { kind: 'message', message, method, asksForProgress: meta?.progressToken !== undefined };
}

function refusedShape(): Incoming {
  return { kind: 'refused', error: new RpcError(RpcCode.InvalidRequest, 'Invalid Request: no method', { reason: 'invalid_request' }) };
}
