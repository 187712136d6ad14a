import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';
import type { CallDecision } from '../limits/rate-limiter.js';

/**
 * The RateLimit-Policy and RateLimit header fields of draft-ietf-httpapi-ratelimit-headers (ADR
 * 0011 says which revision), plus Retry-After when the call was refused. Both fields are Structured
 * Field Lists (RFC 9651) of one Item per limit: the policy's name as a String, then parameters —
 * `q` (requests) and `w` (window seconds) in RateLimit-Policy; `r` (requests left) and `t` (seconds
 * until the window ends) in RateLimit; `pk` (the partition key, a Byte Sequence) in both when the
 * limit names one. When the store did not answer (rate limits failing open) nothing is known of what
 * is left, so RateLimit, whose `r` is required, is left out and RateLimit-Policy alone says the limits.
 */
export function rateLimitHeaders(decision: CallDecision): Record<string, string> {
  if (decision.quotas.length === 0) return {};
  const headers: Record<string, string> = {
    'RateLimit-Policy': sfList(
      decision.quotas.map((quota) => [
        quota.policy,
        [['q', quota.limit.requests], ['w', quota.limit.windowSeconds], ...pk(quota.partitionKey)],
      ]),
    ),
  };
  if (!decision.counted) return headers;
  headers.RateLimit = sfList(
    decision.quotas.map((quota) => [quota.policy, [['r', quota.remaining], ['t', quota.resetSeconds], ...pk(quota.partitionKey)]]),
  );
  if (decision.retryAfterSeconds !== undefined) headers['Retry-After'] = String(decision.retryAfterSeconds);
  return headers;
}

type Parameter = readonly [name: string, value: number | Uint8Array];

function pk(partitionKey: string | undefined): Parameter[] {
  return partitionKey === undefined ? [] : [['pk', new TextEncoder().encode(partitionKey)]];
}

/** RFC 9651 §4.1.1: members joined by a comma and one space, each a String Item with its parameters. */
function sfList(items: ReadonlyArray<readonly [name: string, parameters: readonly Parameter[]]>): string {
  return items
    .map(([name, parameters]) => sfString(name) + parameters.map(([key, value]) => `;${key}=${sfBareItem(value)}`).join(''))
    .join(', ');
}

function sfBareItem(value: number | Uint8Array): string {
  if (typeof value !== 'number') return `:${Buffer.from(value).toString('base64')}:`;
  // RFC 9651 §4.1.4: at most 15 digits.
  if (!Number.isSafeInteger(value) || Math.abs(value) > 999_999_999_999_999)
    throw new RangeError(`not a structured-field Integer: ${value}`);
  return String(value);
}

/** RFC 9651 §4.1.6: printable ASCII only, with `"` and `\` escaped. */
function sfString(value: string): string {
  if (!/^[\x20-\x7e]*$/.test(value)) throw new RangeError(`a rate limit policy name must be printable ASCII: ${JSON.stringify(value)}`);
  return `"${value.replace(/[\\"]/g, (character) => `\\${character}`)}"`;
}

/**
 * The address a request came from: the first X-Forwarded-For entry behind a trusted proxy, else the
 * socket's peer; undefined without a socket (requests made in-process, as the tests do).
 */
export function clientAddress(c: Context, trustProxy: boolean): string | undefined {
  const forwarded = trustProxy ? c.req.header('x-forwarded-for')?.split(',')[0]?.trim() : undefined;
  if (forwarded) return forwarded;
  try {
    return getConnInfo(c).remote.address;
  } catch {
    return undefined;
  }
}
