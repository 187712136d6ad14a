import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';

/** The status nginx made the convention for "the client closed the request before it was answered". */
export const CLIENT_CLOSED_REQUEST = 499;

/** The client hung up before its request's body had arrived: nothing to answer, nothing went wrong here. */
export class ClientAbortedError extends Error {
  constructor(options?: { cause?: unknown }) {
    super('the client closed the request before its body arrived', options);
    this.name = 'ClientAbortedError';
  }
}

/**
 * `error`, from reading the request's body, as a ClientAbortedError when the client hung up
 * (Node's request was aborted before it completed); other errors are left as they are.
 */
export function asClientAbort(c: Context, error: unknown): unknown {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  const hungUp = incoming !== undefined && !incoming.complete && (incoming.destroyed || incoming.socket?.destroyed === true);
  return hungUp ? new ClientAbortedError({ cause: error }) : error;
}
