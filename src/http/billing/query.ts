import { z } from 'zod';
import { boundedInstant } from '../../db/ranges.js';

/** The time range and page size the billing reads share. */
export const range = { from: boundedInstant.optional(), to: boundedInstant.optional() };
export const limit = (max: number, fallback: number) => z.coerce.number().int().min(1).max(max).default(fallback);

/** CSV answers, as /openapi.json describes them. */
export const csv = (description: string) => ({ description, content: { 'text/csv': { schema: z.string() } } });

/** The headers of a CSV download named `filename`. */
export const csvHeaders = (filename: string) => ({
  'content-type': 'text/csv; charset=utf-8',
  'content-disposition': `attachment; filename="${filename}"`,
});
