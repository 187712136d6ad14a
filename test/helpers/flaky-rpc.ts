import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * What the proxy does with the requests it gets: forward them (`pass`), answer HTTP 503 (`5xx`),
 * keep them open without a word (`hang`), or not listen at all (`refuse`: connections are refused).
 */
export type RpcMode = 'pass' | '5xx' | 'hang' | 'refuse';

/** A chain RPC on loopback in front of anvil that fails the way providers do, switched by the test. */
export interface FlakyRpc {
  /** http://127.0.0.1:<port>, the same whatever the mode */
  readonly url: string;
  readonly mode: RpcMode;
  /** switches the mode; to `refuse` closes the port (and every open connection), from it listens again on the same port */
  set(mode: RpcMode): Promise<void>;
  /** the next time a `method` call is forwarded and answered, switches to `mode` (a failure in the middle of a pass) */
  switchAfter(method: string, mode: RpcMode): void;
  /** JSON-RPC calls forwarded and answered, by method */
  readonly forwarded: Readonly<Record<string, number>>;
  close(): Promise<void>;
}

/** The JSON-RPC methods of a request body: one call, or a batch. */
function methodsOf(body: string): string[] {
  const parsed = JSON.parse(body) as { method: string } | { method: string }[];
  return (Array.isArray(parsed) ? parsed : [parsed]).map((call) => call.method);
}

export async function startFlakyRpc(upstream: string): Promise<FlakyRpc> {
  let mode: RpcMode = 'pass';
  let trigger: { method: string; mode: RpcMode } | undefined;
  const forwarded: Record<string, number> = {};
  const hanging = new Set<ServerResponse>();

  const server: Server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const methods = methodsOf(body);
    if (mode === 'refuse') {
      // a connection kept alive from before the port closed
      request.socket.destroy();
      return;
    }
    if (mode === 'hang') {
      hanging.add(response);
      response.once('close', () => hanging.delete(response));
      return;
    }
    if (mode === '5xx') {
      response.writeHead(503, { 'content-type': 'text/plain' }).end('upstream unavailable');
      return;
    }
    const answer = await fetch(upstream, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).catch(() => undefined);
    if (!answer) {
      request.socket.destroy();
      return;
    }
    const text = await answer.text();
    for (const method of methods) forwarded[method] = (forwarded[method] ?? 0) + 1;
    const next = trigger && methods.includes(trigger.method) ? trigger.mode : undefined;
    if (!next) {
      response.writeHead(answer.status, { 'content-type': 'application/json' }).end(text);
      return;
    }
    trigger = undefined;
    // The calls after this one see the new mode; this answer still goes out before the port closes.
    const closing = switchTo(next, new Promise<void>((resolve) => response.once('finish', resolve)));
    response.writeHead(answer.status, { 'content-type': 'application/json' }).end(text);
    await closing;
  });

  const listen = (port: number) => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  await listen(0);
  const port = (server.address() as AddressInfo).port;

  /** Requests from now on see `next`; the port closes (for `refuse`) once `after`, an answer in flight, is out. */
  async function switchTo(next: RpcMode, after?: Promise<void>): Promise<void> {
    if (next === mode) return;
    const was = mode;
    mode = next;
    await after;
    if (next === 'refuse') {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    } else if (was === 'refuse') {
      await listen(port);
    }
  }

  return {
    url: `http://127.0.0.1:${port}`,
    get mode() {
      return mode;
    },
    forwarded,
    set: (next) => switchTo(next),
    switchAfter(method, next) {
      trigger = { method, mode: next };
    },
    async close() {
      for (const response of hanging) response.destroy();
      if (mode === 'refuse') return;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
