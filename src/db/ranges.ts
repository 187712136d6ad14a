import { z } from 'zod';

/**
 * What a client-sent time or number may be so that every statement can take it: PostgreSQL refuses
 * year 0 and an int8 past 2^63 − 1 with an error (a 500 if it got that far), and a day computed
 * from an instant in year 9999's last day (the usage query's next midnight) is in year 10000, which
 * neither JavaScript nor PostgreSQL writes as ISO-8601. So instants lie in [EARLIEST, LATEST).
 */
export const EARLIEST_INSTANT = '0001-01-01T00:00:00Z';
export const LATEST_INSTANT = '9999-01-01T00:00:00Z';
const earliest = Date.parse(EARLIEST_INSTANT);
const latest = Date.parse(LATEST_INSTANT);

export const INT8_MAX = 2n ** 63n - 1n;

/** An ISO-8601 instant with its offset, inside the range every statement can take, as a Date. */
export const boundedInstant = z.iso
  .datetime({ offset: true })
  .transform((value) => new Date(value))
  .refine((date) => date.getTime() >= earliest && date.getTime() < latest, {
    message: `must lie between ${EARLIEST_INSTANT} and ${LATEST_INSTANT} (UTC)`,
  });

/** A keyset cursor over an int8 id, as this API returns it. */
export const int8Cursor = z
  .string()
  .regex(/^\d{1,19}$/, 'a cursor this API returned')
  .transform(BigInt)
  .refine((value) => value <= INT8_MAX, 'a cursor this API returned');
