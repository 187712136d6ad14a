/**
 * Rate limits: traffic control, never money (DESIGN.md). A limit is so many requests per window of
 * seconds for one subject (a key, an organization, a client address); the window is fixed and starts
 * at the subject's first counted request (ADR 0011). Two stores keep the counters: Redis, shared by
 * every instance, and this instance's memory.
 */

/** So many requests per window of so many seconds. */
export interface RateLimit {
  requests: number;
  windowSeconds: number;
}

/** One limit a call must stay within: the policy's name (what the RateLimit header fields call it), whose counter, and the limit. */
export interface RateCheck {
  policy: string;
  subject: string;
  limit: RateLimit;
  /** what the RateLimit header fields name the subject as (their `pk`), if anything; never a secret */
  partitionKey?: string;
}

/**
 * How much one `takeAll` counts. A JSON-RPC batch is one HTTP request but as many calls as it
 * holds, and counts them all at once: a key allowed 10 calls a minute must not make 1,000 by
 * sending batches of 100.
 */
export interface TakeOptions {
  /** requests counted against every check, all or none: a whole number from 1 to MAX_TAKE_WEIGHT; 1 when left out */
  weight?: number;
}

/**
 * The heaviest one take may be: ten times the largest batch the paid endpoint accepts (100 calls).
 * A weight beyond it is a caller's mistake (a size in bytes, an unbounded sum), not a batch.
 */
export const MAX_TAKE_WEIGHT = 1_000;

/** Where a subject stands against one limit once the call was counted (or refused). */
export interface QuotaState {
  policy: string;
  limit: RateLimit;
  partitionKey?: string;
  /** requests left in the current window, after this call */
  remaining: number;
  /** seconds until the window ends and the whole limit is available again (the full window when none has started) */
  resetSeconds: number;
  /** true when this limit refused the call: it had no room for the call's whole weight */
  exceeded: boolean;
}

/**
 * The answer for one call checked against several limits at once. Counted: allowed only when every
 * limit had room for the call's whole weight, and then every counter took all of it; a call one
 * limit refuses is counted by none. Not counted: the store did not answer, and the call goes
 * through (rate limits fail open).
 *
 * A refused call whose weight is larger than an exceeded limit's `requests` can never pass, whatever
 * it waits: its `retryAfterSeconds` is only that window's end. A caller tells it by
 * `quota.exceeded && quota.limit.requests < decision.weight`, and should ask for smaller batches
 * rather than a retry.
 */
export type CallDecision =
  | {
      counted: true;
      allowed: boolean;
      /** the requests this call counted (allowed) or would have counted (refused) against every limit */
      weight: number;
      quotas: QuotaState[];
      retryAfterSeconds: number | undefined;
    }
  | { counted: false; allowed: true; quotas: Array<Pick<QuotaState, 'policy' | 'limit' | 'partitionKey'>> };

/** The answer for one subject against one limit. */
export type RateDecision =
  | {
      counted: true;
      allowed: boolean;
      limit: RateLimit;
      remaining: number;
      resetSeconds: number;
      /** when refused: seconds until the window ends */
      retryAfterSeconds: number | undefined;
    }
  | { counted: false; allowed: true; limit: RateLimit };

/** What /readyz and the start banner say about where the counters live. */
export type RateLimitStoreHealth = { store: 'memory' } | { store: 'redis'; address: string; answering: boolean };

export type RateLimitStore = { kind: 'memory' } | { kind: 'redis'; address: string };

export interface RateLimiter {
  readonly store: RateLimitStore;
  /** Counts one request of `subject` against `limit`, unless the limit is reached. */
  take(subject: string, limit: RateLimit): Promise<RateDecision>;
  /**
   * Counts `options.weight` requests (1 when left out) against every check at once, or against none
   * if any lacks room for all of them (one Redis round trip): allowed only when each counter's count
   * + weight ≤ its limit's requests. A weight larger than a limit's requests is always refused by that
   * limit (see CallDecision). Throws a RangeError, before any counter moves, for limits or a weight
   * that are not whole numbers in range.
   */
  takeAll(checks: readonly RateCheck[], options?: TakeOptions): Promise<CallDecision>;
  health(): Promise<RateLimitStoreHealth>;
  /** Closes the store's connection (Redis; memory has none). */
  close(): Promise<void>;
}

/** Counters as a store reads them, before and after the call: how many requests the window holds and when it ends. */
export interface CounterReading {
  count: number;
  /** milliseconds until the window ends; undefined when no window has started */
  msLeft: number | undefined;
}

/**
 * The decision for `checks` from their counters (in the same order: after the call when allowed,
 * as they stood when refused), whether the store let the call in, and the call's weight. Seconds
 * are rounded up, so a client that waits them finds the window over.
 */
export function callDecision(
  checks: readonly RateCheck[],
  readings: readonly CounterReading[],
  allowed: boolean,
  weight: number,
): CallDecision {
  const quotas = checks.map((check, index): QuotaState => {
    const reading = readings[index] ?? { count: 0, msLeft: undefined };
    return {
      policy: check.policy,
      limit: check.limit,
      ...(check.partitionKey === undefined ? {} : { partitionKey: check.partitionKey }),
      remaining: Math.max(0, check.limit.requests - reading.count),
      resetSeconds: reading.msLeft === undefined ? check.limit.windowSeconds : Math.max(1, Math.ceil(reading.msLeft / 1000)),
      exceeded: !allowed && reading.count + weight > check.limit.requests,
    };
  });
  const refusing = quotas.filter((quota) => quota.exceeded);
  // Retry-After points at the latest of the refusing windows' ends: retrying earlier is refused again.
  const retryAfterSeconds = allowed ? undefined : Math.max(1, ...refusing.map((quota) => quota.resetSeconds));
  return { counted: true, allowed, weight, quotas, retryAfterSeconds };
}

/** The decision when the store did not answer: allowed, nothing known about what is left. */
export function uncountedDecision(checks: readonly RateCheck[]): CallDecision {
  return {
    counted: false,
    allowed: true,
    quotas: checks.map(({ policy, limit, partitionKey }) => ({ policy, limit, ...(partitionKey === undefined ? {} : { partitionKey }) })),
  };
}

/** `take` in terms of `takeAll`, for stores that implement the latter. */
export async function takeOne(limiter: Pick<RateLimiter, 'takeAll'>, subject: string, limit: RateLimit): Promise<RateDecision> {
  const decision = await limiter.takeAll([{ policy: 'default', subject, limit }]);
  if (!decision.counted) return { counted: false, allowed: true, limit };
  const quota = decision.quotas[0]!;
  return {
    counted: true,
    allowed: decision.allowed,
    limit,
    remaining: quota.remaining,
    resetSeconds: quota.resetSeconds,
    retryAfterSeconds: decision.retryAfterSeconds,
  };
}

/**
 * The weight `takeAll` counts: 1 when left out; one that is not a whole number from 1 to
 * MAX_TAKE_WEIGHT is a programming error, refused before any counter moves.
 */
export function takeWeight(options: TakeOptions | undefined): number {
  const weight = options?.weight ?? 1;
  if (!Number.isSafeInteger(weight) || weight < 1 || weight > MAX_TAKE_WEIGHT) {
    throw new RangeError(`a rate limit weight must be a whole number from 1 to ${MAX_TAKE_WEIGHT}, not ${weight}`);
  }
  return weight;
}

/** Limits whose figures are not whole positive numbers are a programming error, refused before any counter moves. */
export function assertLimits(checks: readonly RateCheck[]): void {
  for (const { policy, limit } of checks) {
    if (
      !Number.isSafeInteger(limit.requests) ||
      limit.requests < 1 ||
      !Number.isSafeInteger(limit.windowSeconds) ||
      limit.windowSeconds < 1
    ) {
      throw new RangeError(
        `rate limit "${policy}" must be whole requests ≥ 1 per whole seconds ≥ 1, not ${limit.requests}/${limit.windowSeconds}`,
      );
    }
  }
}
