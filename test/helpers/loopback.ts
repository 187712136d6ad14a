import type { Server } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';

export interface LoopbackServer {
  /** http://127.0.0.1:<port> */
  baseUrl: string;
  /** stops the server, dropping connections still open (a request left hanging on purpose) */
  close(): Promise<void>;
}

/** Starts a test's HTTP server (a webhook receiver, a fake provider) on a free loopback port. */
export async function listenOnLoopback(server: Server): Promise<LoopbackServer> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A loopback port nothing listens on right now (the OS picks it; it is free again once closed), for a child process to take. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
