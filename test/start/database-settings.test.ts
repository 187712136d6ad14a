import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

const PRIMARY = 'postgres://gateway@db.internal:5432/paygate';
const POOLER = 'postgres://gateway@pooler.internal:6432/paygate';
const REPLICA = 'postgres://gateway@replica.internal:5432/paygate';

/** DATABASE_POOLER, DATABASE_DIRECT_URL and DATABASE_READ_URL (ADR 0025): how DATABASE_URL is reached. */
describe('database topology settings', () => {
  it('default: DATABASE_URL is the primary itself, no replica', () => {
    expect(loadConfig({ DATABASE_URL: PRIMARY }).databaseRoutes).toEqual({ directUrl: undefined, readUrl: undefined });
  });

  it('a transaction pooler needs the direct URL for the sessions it cannot carry', () => {
    expect(loadConfig({ DATABASE_URL: POOLER, DATABASE_POOLER: 'transaction', DATABASE_DIRECT_URL: PRIMARY }).databaseRoutes).toEqual({
      directUrl: PRIMARY,
      readUrl: undefined,
    });
    expect(() => loadConfig({ DATABASE_URL: POOLER, DATABASE_POOLER: 'transaction' })).toThrow(
      /DATABASE_DIRECT_URL: is needed with DATABASE_POOLER=transaction/,
    );
    expect(() => loadConfig({ DATABASE_URL: POOLER, DATABASE_POOLER: 'session' })).toThrow(ConfigError);
  });

  it('a direct URL without a pooler is refused rather than silently unused', () => {
    expect(() => loadConfig({ DATABASE_URL: PRIMARY, DATABASE_DIRECT_URL: PRIMARY })).toThrow(
      /DATABASE_DIRECT_URL: is used only with DATABASE_POOLER=transaction/,
    );
  });

  it('a replica URL is kept as given, pooled or not', () => {
    expect(loadConfig({ DATABASE_URL: PRIMARY, DATABASE_READ_URL: REPLICA }).databaseRoutes.readUrl).toBe(REPLICA);
  });

  it('each applies to PostgreSQL only, and each must be a postgres:// URL', () => {
    for (const env of [{ DATABASE_POOLER: 'transaction', DATABASE_DIRECT_URL: PRIMARY }, { DATABASE_READ_URL: REPLICA }]) {
      expect(() => loadConfig(env), JSON.stringify(env)).toThrow(/applies to PostgreSQL only: set DATABASE_URL too/);
    }
    for (const name of ['DATABASE_READ_URL', 'DATABASE_DIRECT_URL']) {
      expect(() => loadConfig({ DATABASE_URL: PRIMARY, DATABASE_POOLER: 'transaction', [name]: 'mysql://x/y' }), name).toThrow(
        new RegExp(`${name}: must be a postgres:// or postgresql:// URL`),
      );
    }
  });
});
