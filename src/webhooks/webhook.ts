import { createHmac } from 'node:crypto';
import { inSpan, traceHeaders } from '../tracing/spans.js';
import { type Resolve, resolveDestination } from './destination.js';
import { pinnedFetch } from './pinned-fetch.js';

/** Tries for one notice before its webhook is given up on (until the next notice). */
export const MAX_WEBHOOK_ATTEMPTS = 8;
const MAX_BACKOFF_S = 300;
const DELIVERY_TIMEOUT_MS = 5_000;

/** Seconds to wait after the `attempts`-th failure: 1, 2, 4 … up to 5 minutes. */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(MAX_BACKOFF_S, 2 ** attempts);
}

/**
 * `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed by `key`>`, so a receiver that knows
 * the key can tell the gateway's posts from forgeries and replays.
 */
export function signature(key: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${createHmac('sha256', key).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * Posts a JSON body to a caller's webhook: never into our own networks unless allowed (connecting to
 * the very address that was checked), no redirects, 5 s at most; rejects unless the answer is 2xx. `signed` names the header that carries the body's
 * signature with `key`.
 */
export async function postWebhook(input: {
  url: string;
  body: string;
  signed?: { header: string; key: string };
  headers?: Record<string, string>;
  allowPrivateNetworks: boolean;
  /** the resolver of the URL's name (tests inject one) */
  resolve?: Resolve;
}): Promise<void> {
  const url = new URL(input.url);
  // The host only: a webhook's path or query may carry the receiver's own secret.
  return inSpan('webhook POST', { 'server.address': url.hostname }, () => post(url, input), { kind: 'client' });
}

async function post(url: URL, input: Parameters<typeof postWebhook>[0]): Promise<void> {
  const pinned = await resolveDestination(url, input);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'a2a-paygate-webhook/1',
    ...traceHeaders(),
    ...input.headers,
  };
  if (input.signed) headers[input.signed.header] = signature(input.signed.key, Math.floor(Date.now() / 1000), input.body);
  const response = await pinnedFetch(
    url,
    { method: 'POST', headers, body: input.body, signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS) },
    pinned,
  );
  await response.body?.cancel();
  if (response.status < 200 || response.status >= 300) throw new Error(`the webhook answered HTTP ${response.status}`);
}
