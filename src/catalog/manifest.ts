import { Ajv2020 } from 'ajv/dist/2020.js';
import semver from 'semver';
import { z } from 'zod';
import type { ToolTier } from '../tools/types.js';

/**
 * What an operator registers to sell an upstream HTTP tool (issue 19): the JSON of
 * `npm run admin -- register-tool --file tool.json` and of the operator API. Every value is bounded;
 * the schemas must compile as JSON Schema 2020-12.
 */

/** Prices of the tiers (the built-in tools charge the same); tier 2 has none, so its tools name theirs. */
export const TIER_PRICES: Readonly<Partial<Record<ToolTier, bigint>>> = { 0: 1_000n, 1: 10_000n, 3: 200_000n };
/** 1,000 USDC: the most one call of a catalog tool may cost. */
export const MAX_PRICE_MICRO_USDC = 1_000_000_000n;
const MAX_SCHEMA_BYTES = 64 * 1024;
/** A manifest holds two schemas of at most MAX_SCHEMA_BYTES each and a little more. */
export const MAX_MANIFEST_BYTES = 256 * 1024;
const MAX_HEADERS = 20;

/** Header names the gateway writes itself on the upstream request. */
const RESERVED_HEADERS = new Set([
  'host',
  'content-type',
  'content-length',
  'connection',
  'transfer-encoding',
  'traceparent',
  'tracestate',
]);
const RESERVED_HEADER_PREFIX = 'x-paygate-';

const TOOL_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const TAG = /^[a-z0-9][a-z0-9-]{0,31}$/;
/** RFC 9110 token */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/;
/** visible characters, spaces and tabs: no line break can split the header */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]{1,4096}$/;

const ajv = new Ajv2020({ strict: false, allErrors: true });

/** A JSON Schema 2020-12 document that compiles, at most MAX_SCHEMA_BYTES as JSON. */
const jsonSchema = z.record(z.string(), z.unknown(), { error: 'must be a JSON Schema object' }).superRefine((schema, ctx) => {
  if (JSON.stringify(schema).length > MAX_SCHEMA_BYTES) {
    ctx.addIssue({ code: 'custom', message: `must be at most ${MAX_SCHEMA_BYTES} bytes as JSON` });
    return;
  }
  try {
    ajv.compile(schema);
  } catch (error) {
    ctx.addIssue({
      code: 'custom',
      message: `is not a valid JSON Schema 2020-12: ${error instanceof Error ? error.message : String(error)}`,
    });
  }
});

const WHOLE_MICRO_USDC = 'must be a whole number of micro-USDC (1 USDC = 1000000)';
const price = z
  .union([z.int(WHOLE_MICRO_USDC).nonnegative(WHOLE_MICRO_USDC), z.string().regex(/^\d{1,19}$/, WHOLE_MICRO_USDC)], {
    error: WHOLE_MICRO_USDC,
  })
  .transform((value) => BigInt(value))
  .refine((value) => value <= MAX_PRICE_MICRO_USDC, `must be at most ${MAX_PRICE_MICRO_USDC} micro-USDC (1,000 USDC)`);

const upstreamUrl = z
  .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
  .max(2048, 'must be at most 2048 characters')
  .refine((url) => {
    const parsed = new URL(url);
    return parsed.username === '' && parsed.password === '';
  }, 'must not hold credentials: give them as upstream.headers, which are stored sealed');

const headers = z
  .record(
    z
      .string()
      .regex(HEADER_NAME, 'must be an HTTP header name')
      .refine(
        (name) => !RESERVED_HEADERS.has(name.toLowerCase()) && !name.toLowerCase().startsWith(RESERVED_HEADER_PREFIX),
        'is a header the gateway sets itself',
      ),
    z.string().regex(HEADER_VALUE, 'must be 1 to 4096 visible characters, without line breaks'),
  )
  .refine((record) => Object.keys(record).length <= MAX_HEADERS, `must hold at most ${MAX_HEADERS} headers`)
  .refine(
    (record) => new Set(Object.keys(record).map((name) => name.toLowerCase())).size === Object.keys(record).length,
    'must name each header once',
  );

export const ToolManifestSchema = z
  .strictObject({
    name: z.string().regex(TOOL_NAME, 'must be a letter, then up to 63 letters, digits, _ or -'),
    version: z
      .string()
      .max(64, 'must be at most 64 characters')
      .refine((version) => semver.valid(version) === version, 'must be a semantic version such as 1.2.3'),
    description: z.string().min(1, 'must not be empty').max(2000, 'must be at most 2000 characters'),
    tags: z
      .array(z.string().regex(TAG, 'must be lower-case letters, digits and -, up to 32'))
      .max(20, 'must hold at most 20 tags')
      .refine((tags) => new Set(tags).size === tags.length, 'must not repeat a tag')
      .default([]),
    tier: z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3)], { error: 'must be 0, 1, 2 or 3' }),
    priceMicroUsdc: price.optional(),
    settlement: z.enum(['instant', 'hold'], { error: 'must be instant or hold' }),
    argumentsSchema: jsonSchema.refine((schema) => schema.type === 'object', 'must describe an object ("type": "object")'),
    resultSchema: jsonSchema.optional(),
    upstream: z.strictObject({
      url: upstreamUrl,
      timeoutMs: z.int().min(100, 'must be at least 100').max(600_000, 'must be at most 600000').default(10_000),
      headers: headers.default({}),
    }),
    providerOrgId: z.uuid({ error: 'must be an organization id (uuid)' }).optional(),
  })
  .superRefine((manifest, ctx) => {
    if (manifest.priceMicroUsdc === undefined && TIER_PRICES[manifest.tier] === undefined) {
      ctx.addIssue({ code: 'custom', path: ['priceMicroUsdc'], message: `is needed: tier ${manifest.tier} has no standard price` });
    }
  });

export type ToolManifest = z.output<typeof ToolManifestSchema>;

/** What a call of the tool costs: its own price, or its tier's. */
export function priceOf(manifest: Pick<ToolManifest, 'tier' | 'priceMicroUsdc'>): bigint {
  const price = manifest.priceMicroUsdc ?? TIER_PRICES[manifest.tier];
  if (price === undefined) throw new Error(`tier ${manifest.tier} has no standard price`);
  return price;
}

/** The first problem of a manifest that does not parse, as `path: message`. */
export function manifestProblem(error: z.ZodError): string {
  const issue = error.issues[0];
  const path = issue?.path.length ? issue.path.join('.') : '(the manifest)';
  // a record's key that fails its own check reports it one level down
  const message = (issue?.code === 'invalid_key' ? issue.issues[0]?.message : undefined) ?? issue?.message ?? 'is invalid';
  return `${path}: ${message}`;
}
