import { z } from 'zod';
import { INT8_MAX } from '../db/sql.js';

/**
 * What an owner may bound about a key, and about the organization over all its keys (issue 16,
 * docs/adr/0012). Null everywhere means "no bound". Amounts are micro-USDC, bigint inside and
 * decimal strings on the wire.
 */

export const SpendPeriodSchema = z.enum(['day', 'month']);

/** The most requests a rate limit may allow and the longest window (a day), so no value is unbounded. */
const MAX_REQUESTS = 1_000_000;
const MAX_WINDOW_SECONDS = 86_400;

export const RateLimitSchema = z.strictObject({
  requests: z.number().int().min(1).max(MAX_REQUESTS),
  windowSeconds: z.number().int().min(1).max(MAX_WINDOW_SECONDS),
});
export type RateLimit = z.output<typeof RateLimitSchema>;

const amountMicroUsdc = z
  .union([z.string().regex(/^\d{1,19}$/, 'a whole number of micro-USDC, as a decimal string'), z.bigint().nonnegative()])
  .transform((value) => BigInt(value))
  .refine((value) => value <= INT8_MAX, `at most ${INT8_MAX} micro-USDC`);

export const SpendCapSchema = z.strictObject({ amountMicroUsdc: amountMicroUsdc, period: SpendPeriodSchema });
export type SpendCap = z.output<typeof SpendCapSchema>;

/** At most this many tool names in a key's list; a tool name is at most 100 characters. */
const MAX_TOOLS = 64;
const toolName = z.string().min(1).max(100);

export interface KeyPolicy {
  /** the tool names the key may call; null: every tool */
  tools: string[] | null;
  maxTier: number | null;
  spendCap: SpendCap | null;
  rateLimit: RateLimit | null;
}

export interface OrgPolicy {
  spendCap: SpendCap | null;
  rateLimit: RateLimit | null;
}

/** A change of a key's policy: a field left out stays as it is, null removes the bound. */
export const KeyPolicyPatchSchema = z.strictObject({
  tools: z.array(toolName).min(1).max(MAX_TOOLS).nullable().optional(),
  maxTier: z.number().int().min(0).max(3).nullable().optional(),
  spendCap: SpendCapSchema.nullable().optional(),
  rateLimit: RateLimitSchema.nullable().optional(),
});
export type KeyPolicyPatch = z.output<typeof KeyPolicyPatchSchema>;

export const OrgPolicyPatchSchema = z.strictObject({
  spendCap: SpendCapSchema.nullable().optional(),
  rateLimit: RateLimitSchema.nullable().optional(),
});
export type OrgPolicyPatch = z.output<typeof OrgPolicyPatchSchema>;

export const NO_KEY_POLICY: KeyPolicy = { tools: null, maxTier: null, spendCap: null, rateLimit: null };

export function patchedKeyPolicy(before: KeyPolicy, patch: KeyPolicyPatch): KeyPolicy {
  return {
    tools: patch.tools === undefined ? before.tools : patch.tools === null ? null : [...new Set(patch.tools)],
    maxTier: patch.maxTier === undefined ? before.maxTier : patch.maxTier,
    spendCap: patch.spendCap === undefined ? before.spendCap : patch.spendCap,
    rateLimit: patch.rateLimit === undefined ? before.rateLimit : patch.rateLimit,
  };
}

export function patchedOrgPolicy(before: OrgPolicy, patch: OrgPolicyPatch): OrgPolicy {
  return {
    spendCap: patch.spendCap === undefined ? before.spendCap : patch.spendCap,
    rateLimit: patch.rateLimit === undefined ? before.rateLimit : patch.rateLimit,
  };
}

/** A policy as JSON (amounts as decimal strings), for answers and audit rows. */
export function policyJson<Policy extends { spendCap: SpendCap | null }>(
  policy: Policy,
): Omit<Policy, 'spendCap'> & { spendCap: { amountMicroUsdc: string; period: SpendCap['period'] } | null } {
  const { spendCap, ...rest } = policy;
  return { ...rest, spendCap: spendCap && { amountMicroUsdc: spendCap.amountMicroUsdc.toString(), period: spendCap.period } };
}

/** The operator CLI's forms: `--spend-cap 37000/day`, `--rate-limit 10/60s`, `none` to remove. */
export const cliSpendCap = z
  .string()
  .regex(/^(none|\d{1,19}\/(day|month))$/, 'must be <micro-USDC>/day, <micro-USDC>/month or none')
  .transform((value, ctx) => {
    if (value === 'none') return null;
    const [amount, period] = value.split('/');
    const parsed = SpendCapSchema.safeParse({ amountMicroUsdc: amount, period });
    if (!parsed.success) {
      ctx.addIssue({ code: 'custom', message: `must be at most ${INT8_MAX} micro-USDC` });
      return z.NEVER;
    }
    return parsed.data;
  });

export const cliRateLimit = z
  .string()
  .regex(/^(none|\d{1,7}\/\d{1,5}s)$/, 'must be <requests>/<seconds>s (10/60s) or none')
  .transform((value, ctx) => {
    if (value === 'none') return null;
    const [requests, seconds] = value.slice(0, -1).split('/');
    const parsed = RateLimitSchema.safeParse({ requests: Number(requests), windowSeconds: Number(seconds) });
    if (!parsed.success) {
      ctx.addIssue({ code: 'custom', message: `requests 1–${MAX_REQUESTS}, window 1–${MAX_WINDOW_SECONDS} s` });
      return z.NEVER;
    }
    return parsed.data;
  });

export const cliTools = z
  .string()
  .regex(/^(all|[^,\s]+(,[^,\s]+)*)$/, 'must be a comma-separated list of tool names, or all')
  .transform((value) => (value === 'all' ? null : value.split(',')))
  .pipe(z.array(toolName).max(MAX_TOOLS).nullable());

export const cliMaxTier = z
  .string()
  .regex(/^(none|[0-3])$/, 'must be 0, 1, 2, 3 or none')
  .transform((value) => (value === 'none' ? null : Number(value)));
