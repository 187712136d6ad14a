import type { z } from 'zod';
import { rpcErrors } from '../rpc/errors.js';

export interface ParamIssue {
  path: string;
  message: string;
}

export function describeIssues(error: z.ZodError): ParamIssue[] {
  return error.issues.slice(0, 20).map((issue) => ({
    path: issue.path.map(String).join('.') || '(root)',
    message: issue.message,
  }));
}

/** Params nested deeper than this are refused: JSON.stringify overflows the stack near 4,000 levels. */
export const MAX_PARAMS_DEPTH = 64;

/** U+0000 or a UTF-16 surrogate without its pair: PostgreSQL text and jsonb cannot hold either. */
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * The first place in `params` the database could not store (a string or key with U+0000 or a lone
 * surrogate) or nesting past MAX_PARAMS_DEPTH. Iterative, so deep input cannot overflow it.
 */
export function findUnstorable(params: unknown): ParamIssue | undefined {
  const pending: Array<{ value: unknown; path: string[] }> = [{ value: params, path: [] }];
  for (let item = pending.pop(); item !== undefined; item = pending.pop()) {
    const { value, path } = item;
    const where = path.join('.') || '(root)';
    if (typeof value === 'string') {
      if (UNSTORABLE.test(value)) return { path: where, message: 'text holds U+0000 or an unpaired surrogate' };
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (path.length >= MAX_PARAMS_DEPTH) return { path: where, message: `nested deeper than ${MAX_PARAMS_DEPTH} levels` };
    for (const [key, child] of Object.entries(value)) {
      if (UNSTORABLE.test(key)) return { path: where, message: 'a member name holds U+0000 or an unpaired surrogate' };
      pending.push({ value: child, path: [...path, key] });
    }
  }
  return undefined;
}

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
