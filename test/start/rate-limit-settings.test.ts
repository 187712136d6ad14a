import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { redisAddress } from '../../src/limits/redis-store.js';
import { startBanner } from '../../src/start-banner.js';

/** The banner's word on rate limits: where they are counted, and never a Redis password. */
describe('the start banner says where rate limits are counted', () => {
  it('without REDIS_URL: in this instance memory, and how to share them', () => {
    const banner = startBanner('http://127.0.0.1:3000', undefined, { kind: 'memory' });
    expect(banner).toContain("  rate limits: in this instance's memory; set REDIS_URL to share them across instances\n");
  });

  it('with REDIS_URL: shared through Redis at its host and port, without the credentials the URL holds', () => {
    const url = 'rediss://gateway:hunter2-secret@cache.internal:6380/2';
    const banner = startBanner('http://127.0.0.1:3000', undefined, { kind: 'redis', address: redisAddress(url) });
    expect(banner).toContain('  rate limits: shared through Redis at cache.internal:6380\n');
    expect(banner).not.toContain('hunter2');
    expect(banner).not.toContain('gateway:');
    expect(redisAddress('redis://127.0.0.1')).toBe('127.0.0.1:6379');
    expect(redisAddress('redis://[::1]:6390')).toBe('[::1]:6390');
  });
});

describe('REDIS_URL', () => {
  it('is a redis:// or rediss:// URL naming a host; unset (or empty) means rate limits in memory', () => {
    expect(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379' }).rateLimits).toEqual({ redisUrl: 'redis://127.0.0.1:6379' });
    expect(loadConfig({}).rateLimits).toEqual({ redisUrl: undefined });
    expect(loadConfig({ REDIS_URL: '' }).rateLimits).toEqual({ redisUrl: undefined });
    for (const wrong of ['http://127.0.0.1:6379', '127.0.0.1:6379', 'redis:///0', 'redis://bad host:6379']) {
      expect(() => loadConfig({ REDIS_URL: wrong }), wrong).toThrow(ConfigError);
      expect(() => loadConfig({ REDIS_URL: wrong }), wrong).toThrow(/^invalid config: REDIS_URL: must be a redis:\/\/ or rediss:\/\/ URL/);
    }
  });
});
