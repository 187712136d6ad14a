import { sql } from 'drizzle-orm';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { rest, signIn, signInMessage, takeNonce } from '../helpers/sign-in.js';

const newWallet = () => privateKeyToAccount(generatePrivateKey());

interface ErrorBody {
  error: { code: string; reason?: string; message: string };
}

async function expectRefusal(response: Response, status: number, reason: string): Promise<void> {
  expect(response.status).toBe(status);
  const body = (await response.json()) as ErrorBody;
  expect(body.error.reason).toBe(reason);
  expect(body.error.message).toBeTruthy();
}

describe('sign-in with Ethereum (EIP-4361)', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway();
  });
  afterAll(() => gateway.close());

  it("creates the wallet's organization at its first sign-in, and signs in to the same one after", async () => {
    const wallet = newWallet();
    const first = await signIn(gateway, wallet);
    expect(first).toMatchObject({ address: wallet.address.toLowerCase(), role: 'owner', organizationCreated: true });
    expect(first.token.split('.')).toHaveLength(3);

    const again = await signIn(gateway, wallet);
    expect(again).toMatchObject({ orgId: first.orgId, role: 'owner', organizationCreated: false });

    const session = await rest(gateway, 'GET', '/v1/auth/session', undefined, first.token);
    expect(session.status).toBe(200);
    expect(await session.json()).toEqual({ address: wallet.address.toLowerCase(), orgId: first.orgId, role: 'owner' });

    const [account] = await gateway.database.db.rows(
      z.object({ balance: z.bigint() }),
      sql`select balance from credit_accounts where org_id = ${first.orgId}`,
    );
    expect(account?.balance).toBe(0n);
  });

  it('a nonce signs in once: the replayed message is refused, also when the replays race', async () => {
    const wallet = newWallet();
    const message = signInMessage(wallet.address, await takeNonce(gateway));
    const signature = await wallet.signMessage({ message });
    const answers = await Promise.all(Array.from({ length: 12 }, () => rest(gateway, 'POST', '/v1/auth/verify', { message, signature })));
    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(1);
    for (const refused of answers.filter((answer) => answer.status !== 200)) await expectRefusal(refused, 401, 'unknown_nonce');
    await expectRefusal(await rest(gateway, 'POST', '/v1/auth/verify', { message, signature }), 401, 'unknown_nonce');
  });

  it('concurrent first sign-ins of one wallet make one organization', async () => {
    const wallet = newWallet();
    const sessions = await Promise.all(Array.from({ length: 6 }, () => signIn(gateway, wallet)));
    expect(new Set(sessions.map((session) => session.orgId)).size).toBe(1);
    expect(sessions.filter((session) => session.organizationCreated)).toHaveLength(1);
  });

  it.each([
    ['wrong_domain', { domain: 'evil.example' }],
    ['wrong_chain', { chainId: 1 }],
    ['expired_message', { expirationTime: new Date(Date.now() - 1000) }],
    ['message_not_yet_valid', { notBefore: new Date(Date.now() + 3_600_000) }],
  ] as const)('refuses a message with %s (401), and leaves its nonce unspent', async (reason, overrides) => {
    const wallet = newWallet();
    const nonce = await takeNonce(gateway);
    const bad = signInMessage(wallet.address, nonce, overrides);
    await expectRefusal(
      await rest(gateway, 'POST', '/v1/auth/verify', { message: bad, signature: await wallet.signMessage({ message: bad }) }),
      401,
      reason,
    );
    const good = signInMessage(wallet.address, nonce);
    const retry = await rest(gateway, 'POST', '/v1/auth/verify', { message: good, signature: await wallet.signMessage({ message: good }) });
    expect(retry.status).toBe(200);
  });

  it('refuses a message signed by another wallet than the one it names', async () => {
    const named = newWallet();
    const signer = newWallet();
    const message = signInMessage(named.address, await takeNonce(gateway));
    await expectRefusal(
      await rest(gateway, 'POST', '/v1/auth/verify', { message, signature: await signer.signMessage({ message }) }),
      401,
      'bad_signature',
    );
    await expectRefusal(await rest(gateway, 'POST', '/v1/auth/verify', { message, signature: '0x1234' }), 401, 'bad_signature');
  });

  it('refuses nonces it never issued, and expired ones', async () => {
    const wallet = newWallet();
    const invented = signInMessage(wallet.address, 'inventedNonce12345');
    await expectRefusal(
      await rest(gateway, 'POST', '/v1/auth/verify', { message: invented, signature: await wallet.signMessage({ message: invented }) }),
      401,
      'unknown_nonce',
    );
    const nonce = await takeNonce(gateway);
    await gateway.database.db.run(sql`update sign_in_nonces set expires_at = now() - interval '1 second' where nonce = ${nonce}`);
    const stale = signInMessage(wallet.address, nonce);
    await expectRefusal(
      await rest(gateway, 'POST', '/v1/auth/verify', { message: stale, signature: await wallet.signMessage({ message: stale }) }),
      401,
      'unknown_nonce',
    );
  });

  it('answers bad bodies with 400 and a reason, never 500', async () => {
    await expectRefusal(await rest(gateway, 'POST', '/v1/auth/verify', '{"message":'), 400, 'malformed_json');
    await expectRefusal(await rest(gateway, 'POST', '/v1/auth/verify', { message: 'hi' }), 400, 'invalid_body');
    await expectRefusal(
      await rest(gateway, 'POST', '/v1/auth/verify', { message: 'not a sign-in message', signature: '0x00' }),
      401,
      'malformed_message',
    );
    const huge = await rest(gateway, 'POST', '/v1/auth/verify', { message: 'x'.repeat(20_000), signature: '0x00' });
    expect(huge.status).toBe(413);
    expect(((await huge.json()) as ErrorBody).error.code).toBe('payload_too_large');
  });

  it('session routes refuse missing, tampered and expired tokens, and API keys', async () => {
    await expectRefusal(await rest(gateway, 'GET', '/v1/auth/session'), 401, 'missing_session');
    const session = await signIn(gateway, newWallet());
    const [head, payload, mac] = session.token.split('.');
    const tampered = `${head}.${payload}.${mac?.startsWith('A') ? 'B' : 'A'}${mac?.slice(1)}`;
    await expectRefusal(await rest(gateway, 'GET', '/v1/auth/session', undefined, tampered), 401, 'invalid_session');
    const org = await gateway.createOrg();
    await expectRefusal(await rest(gateway, 'GET', '/v1/auth/session', undefined, org.apiKey.key), 401, 'api_key_not_a_session');
  });
});

describe('session expiry', () => {
  it('a token past its expiry is refused; one within it is accepted', async () => {
    const gateway = await startTestGateway();
    try {
      const session = await signIn(gateway, newWallet());
      const claims = { address: session.address, orgId: session.orgId };
      const lapsed = await gateway.walletAuth.sessions.issue(claims, new Date(Date.now() - 901_000));
      await expectRefusal(await rest(gateway, 'GET', '/v1/auth/session', undefined, lapsed.token), 401, 'invalid_session');
      const fresh = await gateway.walletAuth.sessions.issue(claims, new Date(Date.now() - 800_000));
      expect((await rest(gateway, 'GET', '/v1/auth/session', undefined, fresh.token)).status).toBe(200);
    } finally {
      await gateway.close();
    }
  });
});
