import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { isPublicAddress } from './special-addresses.js';

/** A resolver of host names: the system's (getaddrinfo) by default; tests inject their own. */
export type Resolve = (host: string) => Promise<ReadonlyArray<{ address: string; family: number }>>;

export const systemResolve: Resolve = (host) => lookup(host, { all: true, verbatim: true });

/** An address a request may connect to, found (and checked) once. */
export interface PinnedAddress {
  address: string;
  family: 4 | 6;
}

export class PrivateDestinationError extends Error {
  constructor(host: string) {
    // The name only: the addresses it resolved to are our network's business, not the caller's.
    super(`host ${host} resolves to a private or loopback address (or another that is not public)`);
    this.name = 'PrivateDestinationError';
  }
}

/** A webhook URL as accepted at registration: http(s), at most 2 KB, no credentials in it. */
export function isWebhookUrl(value: string): boolean {
  if (value.length > 2048 || /[\u0000-\u0020\u007f]/.test(value)) return false;
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.username === '' && url.password === '';
  } catch {
    return false;
  }
}

/**
 * Resolves the URL's host ONCE and returns the addresses to connect to, in the resolver's order.
 * Unless private networks are allowed (tests, a deployment whose agents live on the same network),
 * every address the name has must be public: a caller must not make the gateway call its
 * neighbours. The request must then connect to one of these very addresses (pinned-fetch.ts): a
 * second lookup could answer differently (DNS rebinding) and reach what this one refused.
 */
export async function resolveDestination(
  url: URL,
  options: { allowPrivateNetworks: boolean; resolve?: Resolve },
): Promise<readonly [PinnedAddress, ...PinnedAddress[]]> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const family = isIP(host);
  const addresses = family !== 0 ? [{ address: host, family }] : await (options.resolve ?? systemResolve)(host);
  const pinned = addresses.map(({ address, family: resolved }): PinnedAddress => ({ address, family: resolved === 6 ? 6 : 4 }));
  const [first, ...rest] = pinned;
  if (!first) throw new Error(`the host ${url.hostname} has no address`);
  if (!options.allowPrivateNetworks && pinned.some(({ address }) => !isPublicAddress(address))) {
    throw new PrivateDestinationError(url.hostname);
  }
  return [first, ...rest];
}
