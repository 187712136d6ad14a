import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { Readable } from 'node:stream';
import type { PinnedAddress } from './destination.js';

/**
 * An HTTP(S) request to `url` that connects to the `pinned` addresses and nowhere else (Node tries
 * them in turn, IPv6 and IPv4 alike): the URL's name stays the Host header and the TLS server name
 * (certificates are checked against it), but it is not looked up again. Redirects are not followed
 * (the caller checks each hop). Answers a fetch Response.
 */
export function pinnedFetch(
  url: URL,
  init: { method: string; headers: Record<string, string>; body?: string; signal: AbortSignal },
  pinned: readonly [PinnedAddress, ...PinnedAddress[]],
): Promise<Response> {
  const [first] = pinned;
  const lookup: LookupFunction = (_hostname, options, callback) => {
    if (options.all) callback(null, [...pinned]);
    else callback(null, first.address, first.family);
  };
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const request = send(url, { method: init.method, headers: init.headers, lookup, signal: init.signal }, (answer) => {
      resolve(toResponse(answer));
    });
    request.on('error', (error) => reject(unreachable(url, error, init.signal)));
    request.end(init.body);
  });
}

/**
 * Why `url` could not be reached, naming its host only: the error of the connection names the
 * address it resolved to, which is ours to know (it is logged as the cause), not the caller's.
 */
function unreachable(url: URL, error: Error, signal: AbortSignal): Error {
  if (signal.aborted) return new Error(`timeout: ${url.host} did not answer in time`, { cause: error });
  const code = (error as { code?: unknown }).code;
  return new Error(`could not reach ${url.host}${typeof code === 'string' ? ` (${code})` : ''}`, { cause: error });
}

/** Statuses whose Response may not have a body. */
const NO_BODY = new Set([101, 204, 205, 304]);

function toResponse(answer: IncomingMessage): Response {
  const headers = new Headers();
  for (const [name, value] of Object.entries(answer.headers)) {
    for (const each of Array.isArray(value) ? value : value === undefined ? [] : [value]) headers.append(name, each);
  }
  const status = answer.statusCode ?? 502;
  if (NO_BODY.has(status)) {
    answer.resume();
    return new Response(null, { status, headers });
  }
  // Node's web stream and the DOM lib's are the same object under two type declarations.
  return new Response(Readable.toWeb(answer) as unknown as ConstructorParameters<typeof Response>[0], { status, headers });
}
