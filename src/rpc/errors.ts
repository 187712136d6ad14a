/** JSON-RPC error codes the gateway answers with (see the README's error table). */
export const RpcCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  Unauthorized: -32000,
  TaskNotFound: -32001,
  TaskNotCancelable: -32002,
  PushNotificationNotSupported: -32003,
  /** insufficient credits, and A2A's UnsupportedOperation: told apart by data.reason */
  CreditsOrUnsupported: -32004,
  ExtendedCardNotConfigured: -32007,
  VersionNotSupported: -32009,
  /**
   * the database cannot be reached or is restarting: nothing was done that a retry would repeat
   * (answered with HTTP 503 and Retry-After); a code of the implementation-defined range that A2A's
   * own codes, counted up from -32001, will not reach
   */
  Unavailable: -32050,
} as const;

export type RpcErrorCode = (typeof RpcCode)[keyof typeof RpcCode];

export interface RpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}

export class RpcError extends Error {
  constructor(
    readonly code: RpcErrorCode,
    message: string,
    readonly data?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'RpcError';
  }

  toJSON(): RpcErrorObject {
    return this.data === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, data: this.data };
  }
}

export const rpcErrors = {
  parse: (detail: string) => new RpcError(RpcCode.ParseError, 'Parse error: body is not valid JSON', { detail }),
  invalidRequest: (detail: string) => new RpcError(RpcCode.InvalidRequest, 'Invalid Request', { detail }),
  methodNotFound: (method: string) => new RpcError(RpcCode.MethodNotFound, `Method not found: ${method}`, { method }),
  invalidParams: (message: string, data: Record<string, unknown>) => new RpcError(RpcCode.InvalidParams, message, data),
  unauthorized: (reason: string, message: string) => new RpcError(RpcCode.Unauthorized, message, { reason }),
  internal: (requestId: string) => new RpcError(RpcCode.InternalError, 'Internal error', { requestId }),
  databaseUnavailable: (retryAfterSeconds: number) =>
    new RpcError(RpcCode.Unavailable, 'Unavailable: the database cannot be reached; try again shortly', {
      reason: 'database_unavailable',
      retryAfterSeconds,
    }),
} as const;
