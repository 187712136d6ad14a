import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { rest } from '../helpers/sign-in.js';

interface ErrorBody {
  error: { code: string; reason?: string };
}

describe('sign-in nonces are rate-limited per client address (each one is a stored row anyone may ask for)', () => {
  let behindProxy: TestGateway;
  let direct: TestGateway;
  let directUrl: string;

  beforeAll(async () => {
    behindProxy = await startTestGateway({ nonces: { perMinute: 5, trustProxy: true } });
    direct = await startTestGateway({ nonces: { perMinute: 5, trustProxy: false } });
    directUrl = await direct.listen();
  });
  afterAll(async () => {
    await behindProxy?.close();
    await direct?.close();
  });

  const nonceFrom = (client: string) =>
    behindProxy.app.request('/v1/auth/nonce', { method: 'POST', headers: { 'x-forwarded-for': `${client}, 10.0.0.1` } });

  it('behind a trusted proxy: the first X-Forwarded-For address gets 5 a minute, then 429 with Retry-After; others are not affected', async () => {
    for (let n = 0; n < 5; n++) expect((await nonceFrom('203.0.113.7')).status).toBe(201);
    const refused = await nonceFrom('203.0.113.7');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await refused.json()) as ErrorBody).error).toMatchObject({ code: 'rate_limited', reason: 'nonce_rate' });
    expect((await nonceFrom('198.51.100.2')).status).toBe(201);
    // In-process requests have no socket and no trusted header: nothing to key them by, not limited.
    for (let n = 0; n < 7; n++) expect((await rest(behindProxy, 'POST', '/v1/auth/nonce')).status).toBe(201);
  });

  it('over real sockets without a trusted proxy: the peer address is the key, and a forged X-Forwarded-For does not reset it', async () => {
    const ask = (forged?: string) =>
      fetch(`${directUrl}/v1/auth/nonce`, { method: 'POST', headers: forged ? { 'x-forwarded-for': forged } : {} });
    for (let n = 0; n < 5; n++) expect((await ask()).status).toBe(201);
    expect((await ask()).status).toBe(429);
    expect((await ask('198.51.100.99')).status).toBe(429);
  });

  it('a window of a minute from the first nonce: each answer carries the RateLimit fields, the 429 the seconds left', async () => {
    for (let n = 1; n <= 5; n++) {
      const answer = await nonceFrom('192.0.2.44');
      expect(answer.status).toBe(201);
      expect(answer.headers.get('ratelimit-policy')).toBe('"nonce";q=5;w=60');
      expect(answer.headers.get('ratelimit')).toMatch(new RegExp(`^"nonce";r=${5 - n};t=(59|60)$`));
    }
    const refused = await nonceFrom('192.0.2.44');
    expect(refused.status).toBe(429);
    const secondsLeft = Number(refused.headers.get('retry-after'));
    expect([59, 60]).toContain(secondsLeft);
    expect(refused.headers.get('ratelimit')).toBe(`"nonce";r=0;t=${secondsLeft}`);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toBe(
      `too many sign-in nonces from this address; try again in ${secondsLeft} s`,
    );
  });
});
