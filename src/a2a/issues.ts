import type { z } from 'zod';
import { findUnstorable } from '../db/unstorable.js';
import { describeIssues } from '../domain/issues.js';
import { rpcErrors } from '../rpc/errors.js';

/** Parses method params with a zod schema; a mismatch is -32602 with the issues in data. */
export function parseParams<Schema extends z.ZodType>(schema: Schema, params: unknown, what: string): z.output<Schema> {
  const unstorable = findUnstorable(params);
  if (unstorable) {
    throw rpcErrors.invalidParams(`Invalid params: ${what}`, { reason: 'unsupported_input', issues: [unstorable] });
  }
  const parsed = schema.safeParse(params ?? {});
  if (!parsed.success) {
    throw rpcErrors.invalidParams(`Invalid params: ${what}`, { issues: describeIssues(parsed.error) });
  }
  return parsed.data;
}
