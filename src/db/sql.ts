import { type SQL, sql } from 'drizzle-orm';

/**
 * A timestamptz column as ISO-8601 UTC text ("2024-11-15T10:30:00.000Z"). Both drivers return raw
 * timestamps as strings in their own formats, so queries format them here instead. `US` keeps
 * microseconds, for values that must sort exactly as the database does (keyset cursors).
 */
export function isoUtc(column: SQL, precision: 'MS' | 'US' = 'MS'): SQL {
  return sql`to_char(${column} at time zone 'UTC', ${sql.raw(`'YYYY-MM-DD"T"HH24:MI:SS.${precision}"Z"'`)})`;
}

/** The largest int8 (bigint) value: what an id, a balance or a ledger amount column can hold. */
export const INT8_MAX = 2n ** 63n - 1n;

/** SQLSTATE 22003: a value (a sum, say) past its column type's range. */
export const NUMERIC_VALUE_OUT_OF_RANGE = '22003';

/** JSON text of `value`, bigints as decimal text: JSON has no bigint, and PostgreSQL casts the text back exactly. */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, (_, entry: unknown) => (typeof entry === 'bigint' ? entry.toString() : entry));
}

/** `value` as one json parameter (for json_to_recordset and friends), bigints as decimal text. */
export function jsonParam(value: unknown): SQL {
  return sql`${jsonText(value)}::json`;
}

/**
 * `limit n offset m` for one page of rows. The offset is left out when it is 0, the common first
 * page: PostgreSQL costs a generic plan's `offset $m` as if it skipped a tenth of the rows, so a
 * prepared statement with one is planned anew at every execution instead of reusing its plan.
 */
export function pageWindow(page: { limit: number; offset: number }): SQL {
  return page.offset > 0 ? sql`limit ${page.limit}::int offset ${page.offset}::int` : sql`limit ${page.limit}::int`;
}

/** The SQLSTATE of a failed statement, wherever the driver or drizzle put it in the cause chain. */
export function sqlState(error: unknown): string | undefined {
  for (let current = error; typeof current === 'object' && current !== null; current = (current as { cause?: unknown }).cause) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}
