import { z } from 'zod';
import { API_ERROR_CODES } from './api-errors.js';

/**
 * The pieces REST answers share; each route declares its own answer beside its handler, which is
 * typed by it, /openapi.json documents it, and the API tests check every real answer against it.
 */
export type Answer<Schema extends z.ZodType> = z.input<Schema>;

export const micro = z
  .string()
  .regex(/^-?\d+$/)
  .describe('an amount in micro-USDC (1 USDC = 1,000,000), as a decimal string');
export const display = z.string().describe('the amount for people, e.g. "1.25 USDC"');
export const instant = z.iso.datetime({ offset: true });
export const address = z
  .string()
  .regex(/^0x[0-9a-f]{40}$/)
  .describe('a wallet address, lower-case 0x-hex');
export const role = z.enum(['owner', 'admin', 'viewer']);
export const nextCursor = z.string().nullable().describe('pass as cursor for the next page; null on the last');

export const errorAnswer = z.strictObject({
  error: z.strictObject({
    code: z.enum(API_ERROR_CODES),
    message: z.string(),
    reason: z.string().optional().describe('a machine-readable cause within the code, e.g. wrong_domain'),
    details: z.unknown().optional().describe('for invalid_request: each problem, by path'),
    requestId: z.string().optional().describe('the X-Request-Id of this request, to find it in the logs'),
  }),
});
