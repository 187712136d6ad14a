import { z } from 'zod';
import { INT8_MAX } from '../db/sql.js';

/** ERC-8004 agent ids are uint256 on chain; we store int8, so larger ids are refused, not truncated. */
export const agentIdParam = z
  .union([z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER), z.string().regex(/^\d{1,19}$/)])
  .transform((value) => BigInt(value))
  .refine((value) => value <= INT8_MAX, { message: 'agentId is larger than any registered agent id' })
  .describe('ERC-8004 agent id (a non-negative integer; a decimal string is accepted too)');

export const pageParams = {
  limit: z.number().int().min(1).max(500).default(50).describe('page size, 1..500'),
  offset: z.number().int().min(0).max(1_000_000).default(0).describe('rows to skip'),
};
