import type { Database } from '../db/client.js';

/** The channel an MCP client's cancellation is passed on to the instance running the call (docs/adr/0022). */
export const MCP_CANCELLATIONS = 'a2a_paygate_mcp_cancellations';

/**
 * Which call a `notifications/cancelled` names: the client's request id, within the correlation id
 * the gateway gave its session (none for a client that keeps none), within the calling key. A
 * client's request ids are unique only within its session, and a cancellation never reaches
 * beyond the key that sends it.
 */
export interface McpCallKey {
  keyId: string;
  sessionId: string | undefined;
  requestId: string | number;
}

export interface McpCallTracking {
  /** aborts when the client cancels the call */
  readonly signal: AbortSignal;
  /** the call ended: a later cancellation of its request id finds nothing */
  done(): void;
}

/**
 * The MCP calls this instance runs, each until it ends, so that a client's cancellation, which
 * arrives as a request of its own and may reach any instance, finds the call: here at once, or on
 * the instance running it through a notification on MCP_CANCELLATIONS.
 */
export interface McpCancellations {
  track(call: McpCallKey): McpCallTracking;
  cancel(call: McpCallKey): Promise<void>;
}

const keyOf = (call: McpCallKey) => JSON.stringify([call.keyId, call.sessionId ?? '', call.requestId]);

/** Well within PostgreSQL's 8,000-byte notification payload; a request id longer than a call's key allows names no call. */
const MAX_KEY_CHARS = 1_000;

export function openMcpCancellations(db: Database): McpCancellations {
  const running = new Map<string, AbortController>();
  const cancelHere = (key: string): boolean => {
    const controller = running.get(key);
    controller?.abort(new Error('canceled by the client'));
    return controller !== undefined;
  };
  db.listen(
    MCP_CANCELLATIONS,
    (key) => void cancelHere(key),
    () => {},
  );
  return {
    track(call) {
      const key = keyOf(call);
      if (key.length > MAX_KEY_CHARS) return { signal: new AbortController().signal, done: () => {} };
      const controller = new AbortController();
      running.set(key, controller);
      return {
        signal: controller.signal,
        done: () => {
          if (running.get(key) === controller) running.delete(key);
        },
      };
    },
    async cancel(call) {
      const key = keyOf(call);
      if (key.length > MAX_KEY_CHARS || cancelHere(key)) return;
      await db.notify(MCP_CANCELLATIONS, key);
    },
  };
}
