import { sql, type SQL } from 'drizzle-orm';

/**
 * A timestamptz column as ISO-8601 UTC text ("2024-11-15T10:30:00.000Z"). Both drivers return raw
 * timestamps as strings in their own formats, so queries format them here instead.
 */
export function isoUtc(column: SQL): SQL {
  return sql`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
}
