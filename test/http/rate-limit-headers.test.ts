import { describe, expect, it } from 'vitest';
import { rateLimitHeaders } from '../../src/http/rate-limit.js';
import type { CallDecision, QuotaState } from '../../src/limits/rate-limiter.js';

/**
 * The RateLimit-Policy and RateLimit fields against the examples of draft-ietf-httpapi-ratelimit-headers
 * (the revision ADR 0011 names). Where an example joins list members with "," alone, the field we
 * send has ", ": RFC 9651 §4.1.1 serializes a List with a comma and one space, and parsers accept both.
 */
function allowed(...quotas: Array<Omit<QuotaState, 'exceeded'>>): CallDecision {
  return {
    counted: true,
    allowed: true,
    weight: 1,
    retryAfterSeconds: undefined,
    quotas: quotas.map((quota) => ({ ...quota, exceeded: false })),
  };
}

describe('RateLimit header fields', () => {
  it('§ RateLimit Policy Field Examples: one policy with its window, and two policies', () => {
    expect(
      rateLimitHeaders(allowed({ policy: 'default', limit: { requests: 100, windowSeconds: 10 }, remaining: 50, resetSeconds: 30 })),
    ).toEqual({ 'RateLimit-Policy': '"default";q=100;w=10', RateLimit: '"default";r=50;t=30' });
    const two = rateLimitHeaders(
      allowed(
        { policy: 'permin', limit: { requests: 50, windowSeconds: 60 }, remaining: 50, resetSeconds: 60 },
        { policy: 'perhr', limit: { requests: 1000, windowSeconds: 3600 }, remaining: 1000, resetSeconds: 3600 },
      ),
    );
    expect(two['RateLimit-Policy']?.replaceAll(', ', ',')).toBe('"permin";q=50;w=60,"perhr";q=1000;w=3600');
  });

  it('§ Use with multiple windows: the policy list exactly as the draft writes it', () => {
    const headers = rateLimitHeaders(
      allowed(
        { policy: 'hour', limit: { requests: 1000, windowSeconds: 3600 }, remaining: 900, resetSeconds: 1800 },
        { policy: 'day', limit: { requests: 5000, windowSeconds: 86400 }, remaining: 100, resetSeconds: 36000 },
      ),
    );
    expect(headers['RateLimit-Policy']).toBe('"hour";q=1000;w=3600, "day";q=5000;w=86400');
    expect(headers.RateLimit).toBe('"hour";r=900;t=1800, "day";r=100;t=36000');
  });

  it('§ Throttling window specified via parameter, and § RateLimit Field Examples with a partition key', () => {
    expect(
      rateLimitHeaders(allowed({ policy: 'fixedwindow', limit: { requests: 100, windowSeconds: 60 }, remaining: 99, resetSeconds: 50 })),
    ).toEqual({ 'RateLimit-Policy': '"fixedwindow";q=100;w=60', RateLimit: '"fixedwindow";r=99;t=50' });
    const withKey = rateLimitHeaders(
      allowed({
        policy: 'default',
        limit: { requests: 300_000_000, windowSeconds: 60 },
        remaining: 300_000_000,
        resetSeconds: 60,
        partitionKey: 'App-999',
      }),
    );
    expect(withKey.RateLimit).toBe('"default";r=300000000;t=60;pk=:QXBwLTk5OQ==:');
    expect(withKey['RateLimit-Policy']).toBe('"default";q=300000000;w=60;pk=:QXBwLTk5OQ==:');
  });

  it('§ Use in throttled responses: r=0, t the seconds left, and Retry-After no earlier than the refusing window end', () => {
    const refused: CallDecision = {
      counted: true,
      allowed: false,
      weight: 1,
      retryAfterSeconds: 5,
      quotas: [{ policy: 'default', limit: { requests: 10, windowSeconds: 60 }, remaining: 0, resetSeconds: 5, exceeded: true }],
    };
    expect(rateLimitHeaders(refused)).toEqual({
      'RateLimit-Policy': '"default";q=10;w=60',
      RateLimit: '"default";r=0;t=5',
      'Retry-After': '5',
    });
  });

  it('policy names are Structured Field Strings: quotes and backslashes escaped, anything but printable ASCII refused', () => {
    const named = (policy: string) =>
      rateLimitHeaders(allowed({ policy, limit: { requests: 1, windowSeconds: 1 }, remaining: 0, resetSeconds: 1 }))['RateLimit-Policy'];
    expect(named('a "b" \\c')).toBe('"a \\"b\\" \\\\c";q=1;w=1');
    expect(() => named('clé')).toThrow(RangeError);
    expect(() => named('line\nbreak')).toThrow(RangeError);
  });

  it('failing open: the policies are announced, RateLimit (whose r is required) and Retry-After are not sent', () => {
    const uncounted: CallDecision = {
      counted: false,
      allowed: true,
      quotas: [
        { policy: 'key', limit: { requests: 20, windowSeconds: 60 } },
        { policy: 'org', limit: { requests: 600, windowSeconds: 60 } },
      ],
    };
    expect(rateLimitHeaders(uncounted)).toEqual({ 'RateLimit-Policy': '"key";q=20;w=60, "org";q=600;w=60' });
    expect(rateLimitHeaders({ counted: true, allowed: true, weight: 1, retryAfterSeconds: undefined, quotas: [] })).toEqual({});
  });
});
