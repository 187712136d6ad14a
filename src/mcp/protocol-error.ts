/**
 * A JSON-RPC error answer to an MCP request. The SDK sends a thrown error's `code`, `message` and
 * `data` as they are; its own McpError writes "MCP error <code>: " into the message, which clients
 * then prefix again, so the gateway's errors are these.
 */
export class McpProtocolError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data: Readonly<Record<string, unknown>>,
  ) {
    super(message);
    this.name = 'McpProtocolError';
  }
}

export const INVALID_PARAMS = -32602;
export const INTERNAL_ERROR = -32603;
/** the database cannot be reached or is restarting: the same code as /a2a's (rpc/errors.ts), data.reason database_unavailable */
export const UNAVAILABLE = -32050;
/** MCP's code for a resource that does not exist */
export const RESOURCE_NOT_FOUND = -32002;
