import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { useSeededGateway } from '../helpers/seeded-gateway.js';
import { rest, signIn } from '../helpers/sign-in.js';
import { createKey, walletOrg } from './support.js';

/** The REST side of key and organization policies: what is stored, what is refused, who may change it. */

const FULL_POLICY = {
  tools: ['getAgentProfile', 'getTrend'],
  maxTier: 1,
  spendCap: { amountMicroUsdc: '37000', period: 'day' },
  rateLimit: { requests: 10, windowSeconds: 60 },
};

interface ErrorBody {
  error: { code: string; reason?: string; details?: Record<string, unknown> };
}

describe('key and organization policies over REST', () => {
  const suite = useSeededGateway({ demoData: false });

  it('POST /v1/keys stores a policy, GET /v1/keys shows it with the period spend, PATCH changes only the fields it names', async () => {
    const owner = await walletOrg(suite.gateway, 0n);
    const key = await createKey(suite.gateway, owner, FULL_POLICY);
    expect(key.policy).toEqual(FULL_POLICY);

    const patched = await rest(
      suite.gateway,
      'PATCH',
      `/v1/keys/${key.id}`,
      { maxTier: null, rateLimit: { requests: 5, windowSeconds: 1 } },
      owner.token,
    );
    expect(patched.status).toBe(200);
    expect(await patched.json()).toEqual({
      id: key.id,
      policy: { ...FULL_POLICY, maxTier: null, rateLimit: { requests: 5, windowSeconds: 1 } },
    });

    const listed = (await (await rest(suite.gateway, 'GET', '/v1/keys', undefined, owner.token)).json()) as {
      keys: Record<string, unknown>[];
    };
    expect(listed.keys.find((entry) => entry.id === key.id)).toMatchObject({
      policy: { ...FULL_POLICY, maxTier: null, rateLimit: { requests: 5, windowSeconds: 1 } },
      spend: { dayMicroUsdc: '0', monthMicroUsdc: '0', reservedMicroUsdc: '0' },
    });
  });

  it('PUT /v1/policy replaces the organization policy; GET /v1/policy reads it with the spend', async () => {
    const owner = await walletOrg(suite.gateway, 0n);
    const empty = await rest(suite.gateway, 'GET', '/v1/policy', undefined, owner.token);
    expect(await empty.json()).toEqual({
      policy: { spendCap: null, rateLimit: null },
      spend: { dayMicroUsdc: '0', monthMicroUsdc: '0', reservedMicroUsdc: '0' },
    });
    const put = await rest(
      suite.gateway,
      'PUT',
      '/v1/policy',
      { spendCap: { amountMicroUsdc: '1000000', period: 'month' }, rateLimit: { requests: 100, windowSeconds: 60 } },
      owner.token,
    );
    expect(await put.json()).toEqual({
      policy: { spendCap: { amountMicroUsdc: '1000000', period: 'month' }, rateLimit: { requests: 100, windowSeconds: 60 } },
    });
    const replaced = await rest(suite.gateway, 'PUT', '/v1/policy', { rateLimit: { requests: 7, windowSeconds: 10 } }, owner.token);
    expect(await replaced.json()).toEqual({ policy: { spendCap: null, rateLimit: { requests: 7, windowSeconds: 10 } } });
  });

  it.each([
    [{ tools: ['getAgentProfile', 'noSuchTool'] }, 'unknown_tool'],
    [{ tools: [] }, 'invalid_body'],
    [{ maxTier: 4 }, 'invalid_body'],
    [{ spendCap: { amountMicroUsdc: '-5', period: 'day' } }, 'invalid_body'],
    [{ spendCap: { amountMicroUsdc: '9223372036854775808', period: 'day' } }, 'invalid_body'],
    [{ spendCap: { amountMicroUsdc: '100', period: 'week' } }, 'invalid_body'],
    [{ rateLimit: { requests: 10, windowSeconds: 0 } }, 'invalid_body'],
    [{ rateLimit: { requests: 10_000_000, windowSeconds: 60 } }, 'invalid_body'],
    [{ tools: Array.from({ length: 65 }, () => 'getAgentProfile') }, 'invalid_body'],
    [{ spendCap: { amountMicroUsdc: '100', period: 'day', extra: 1 } }, 'invalid_body'],
  ])('a policy out of bounds is refused with 400 and changes nothing: %j', async (patch, reason) => {
    const owner = await walletOrg(suite.gateway, 0n);
    const key = await createKey(suite.gateway, owner, {});
    const refused = await rest(suite.gateway, 'PATCH', `/v1/keys/${key.id}`, patch, owner.token);
    expect(refused.status).toBe(400);
    const body = (await refused.json()) as ErrorBody;
    expect(body.error.code).toBe('invalid_request');
    if (reason === 'unknown_tool') expect(body.error).toMatchObject({ reason, details: { unknownTools: ['noSuchTool'] } });
    const listed = (await (await rest(suite.gateway, 'GET', '/v1/keys', undefined, owner.token)).json()) as {
      keys: { id: string; policy: unknown }[];
    };
    expect(listed.keys.find((entry) => entry.id === key.id)?.policy).toEqual({
      tools: null,
      maxTier: null,
      spendCap: null,
      rateLimit: null,
    });
  });

  it("viewers read policies but cannot change them; another organization's key is not found", async () => {
    const owner = await walletOrg(suite.gateway, 0n);
    const key = await createKey(suite.gateway, owner, {});
    const viewerWallet = privateKeyToAccount(generatePrivateKey());
    expect((await rest(suite.gateway, 'POST', '/v1/members', { address: viewerWallet.address, role: 'viewer' }, owner.token)).status).toBe(
      201,
    );
    const viewer = await signIn(suite.gateway, viewerWallet);
    expect((await rest(suite.gateway, 'GET', '/v1/policy', undefined, viewer.token)).status).toBe(200);
    expect((await rest(suite.gateway, 'PATCH', `/v1/keys/${key.id}`, { maxTier: 0 }, viewer.token)).status).toBe(403);
    expect((await rest(suite.gateway, 'PUT', '/v1/policy', { spendCap: null }, viewer.token)).status).toBe(403);

    const stranger = await walletOrg(suite.gateway, 0n);
    const foreign = await rest(suite.gateway, 'PATCH', `/v1/keys/${key.id}`, { maxTier: 0 }, stranger.token);
    expect(foreign.status).toBe(404);
    expect(((await foreign.json()) as ErrorBody).error.reason).toBe('unknown_key');
    expect((await rest(suite.gateway, 'PATCH', '/v1/keys/not-a-uuid', { maxTier: 0 }, owner.token)).status).toBe(404);
  });
});
