import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

/** The catalog's two settings (issue 19): the key that seals provider credentials, and the operator API's token. */
describe('SECRETS_KEY and ADMIN_TOKEN', () => {
  it('SECRETS_KEY is 32 bytes as 64 hex digits or base64; anything else stops the start', () => {
    const key = randomBytes(32);
    expect(loadConfig({ SECRETS_KEY: key.toString('hex') }).secretsKey).toEqual(key);
    expect(loadConfig({ SECRETS_KEY: key.toString('base64') }).secretsKey).toEqual(key);
    expect(loadConfig({}).secretsKey).toBeUndefined();
    expect(loadConfig({ SECRETS_KEY: '' }).secretsKey).toBeUndefined();
    for (const wrong of [
      randomBytes(16).toString('hex'),
      randomBytes(31).toString('base64'),
      'correct horse battery staple',
      `${key.toString('hex')}0`,
    ]) {
      expect(() => loadConfig({ SECRETS_KEY: wrong }), wrong).toThrow(ConfigError);
      expect(() => loadConfig({ SECRETS_KEY: wrong }), wrong).toThrow(/^invalid config: SECRETS_KEY: must be 32 bytes/);
    }
  });

  it('ADMIN_TOKEN is at least 32 characters; unset, the operator API is not served', () => {
    expect(loadConfig({ ADMIN_TOKEN: 'a'.repeat(32) }).adminToken).toBe('a'.repeat(32));
    expect(loadConfig({}).adminToken).toBeUndefined();
    expect(() => loadConfig({ ADMIN_TOKEN: 'short' })).toThrow(/^invalid config: ADMIN_TOKEN: must be at least 32 characters/);
  });
});
