import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capturedLog, type LogLine } from '../helpers/captured-log.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { waitFor } from '../helpers/wait.js';

/**
 * A client that hangs up while sending its body is not the gateway's failure: it was logged as
 * `level 50 "unhandled error" aborted` with a 500 in the request line. It is one request line at
 * info, status 499 (nginx's "client closed request"), and nothing at error level.
 */

const { log, lines } = capturedLog('info');

let gateway: TestGateway;
let port: number;
let apiKey: string;

beforeAll(async () => {
  gateway = await startTestGateway({ log });
  port = Number(new URL(await gateway.listen()).port);
  apiKey = (await gateway.createOrg()).apiKey.key;
});
afterAll(() => gateway.close());

/** Sends the headers and part of a body that declares more, then hangs up. */
async function hangUpMidBody(path: string, headers: Record<string, string>): Promise<void> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  const head = Object.entries({ host: `127.0.0.1:${port}`, 'content-type': 'application/json', 'content-length': '5000', ...headers })
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  // The headers and the first bytes are handed to the connection before the client goes away.
  await new Promise((resolve) => socket.write(`POST ${path} HTTP/1.1\r\n${head}\r\n{"jsonrpc":"2.0","id":1,`, resolve));
  socket.destroy();
}

async function requestLineOf(path: string): Promise<LogLine> {
  const lineOf = () => lines.find((entry) => entry.path === path && entry.status !== undefined);
  await waitFor(() => lineOf() !== undefined, `a request line for ${path}`, 10_000);
  return lineOf() as LogLine;
}

describe('a client that hangs up mid-body', () => {
  it.each([
    ['/a2a', () => ({ authorization: `Bearer ${apiKey}` })],
    ['/v1/auth/verify', () => ({})],
  ])('on %s: one request line at info with status 499, nothing logged as an error', async (path, headers) => {
    await hangUpMidBody(path, headers());
    const line = await requestLineOf(path);
    expect(line).toMatchObject({ level: 30, status: 499, msg: 'request aborted by the client' });
    expect(lines.filter((entry) => entry.level >= 50)).toEqual([]);
  });
});
