/** Input nested deeper than this is refused: JSON.stringify overflows the stack near 4,000 levels. */
export const MAX_PARAMS_DEPTH = 64;

/** U+0000 or a UTF-16 surrogate without its pair: PostgreSQL text and jsonb cannot hold either. */
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * The first place in `params` the database could not store (a string or key with U+0000 or a lone
 * surrogate) or nesting past MAX_PARAMS_DEPTH. Iterative, so deep input cannot overflow it.
 */
export function findUnstorable(params: unknown): { path: string; message: string } | undefined {
  const pending: Array<{ value: unknown; path: string[] }> = [{ value: params, path: [] }];
  for (let item = pending.pop(); item !== undefined; item = pending.pop()) {
    const { value, path } = item;
    // named only when found: every request's parameters pass through here
    const where = () => path.join('.') || '(root)';
    if (typeof value === 'string') {
      if (UNSTORABLE.test(value)) return { path: where(), message: 'text holds U+0000 or an unpaired surrogate' };
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (path.length >= MAX_PARAMS_DEPTH) return { path: where(), message: `nested deeper than ${MAX_PARAMS_DEPTH} levels` };
    for (const [key, child] of Object.entries(value)) {
      if (UNSTORABLE.test(key)) return { path: where(), message: 'a member name holds U+0000 or an unpaired surrogate' };
      pending.push({ value: child, path: [...path, key] });
    }
  }
  return undefined;
}
