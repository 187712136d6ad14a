import { randomBytes } from 'node:crypto';
import { decodePaymentResponseHeader } from '@x402/core/http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATOR } from '../../src/audit/record.js';
import { addMember } from '../../src/auth/members.js';
import type { NewOrganization } from '../../src/auth/organizations.js';
import { getCreditAccount } from '../../src/billing/accounts.js';
import { PLATFORM_ORG_ID } from '../../src/billing/platform.js';
import type { LoopbackServer } from '../helpers/loopback.js';
import { answerJson, type Received, startRecordingUpstream } from '../helpers/recording-upstream.js';
import { waitFor } from '../helpers/wait.js';
import { balanceOf, ledgerOfTask, orgOf, payer, payingFetch, paymentsOf, post, useX402Chain, useX402Gateway } from './x402-kit.js';

/**
 * A provider's catalog tool paid per call with x402 (issues 19 and 21): the USDC goes to the
 * treasury, and the books credit the provider its share and the platform its fee, as a charge from
 * credits would (docs/adr/0020-provider-earnings.md), in the statement that books the payment.
 */
const kit = useX402Chain();
const ADMIN_TOKEN = randomBytes(24).toString('hex');
/** 10 %: the fee of 12,345 is 1,234 (rounded down), the provider earns 11,111 */
const FEE_BPS = 1_000;
const PRICE = 12_345n;
const FEE = 1_234n;
const EARNING = PRICE - FEE;

describe("a provider's catalog tool paid with x402", () => {
  let upstream: LoopbackServer & { received: Received[] };
  let provider: NewOrganization;
  afterAll(async () => {
    await upstream?.close();
  });
  const suite = useX402Gateway(kit, {
    gateway: () => ({ operator: { adminToken: ADMIN_TOKEN, secretsKey: randomBytes(32) }, platformFeeBps: FEE_BPS }),
  });

  /** Registers a provider's tool over the operator API and waits until the live catalog asks a price for it. */
  async function register(name: string, path: string): Promise<void> {
    const response = await fetch(`${suite.baseUrl}/admin/v1/tools`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({
        name,
        version: '1.0.0',
        description: `${name}, a provider's tool`,
        tier: 0,
        settlement: 'instant',
        priceMicroUsdc: PRICE.toString(),
        argumentsSchema: { type: 'object', properties: { n: { type: 'integer' } } },
        upstream: { url: `${upstream.baseUrl}${path}` },
        providerOrgId: provider.orgId,
      }),
    });
    expect(response.status, await response.clone().text()).toBe(201);
    await waitFor(
      async () => (await post(suite.baseUrl, `/v1/tools/${name}/call`, { n: 1 })).status === 402,
      `${name} in the live catalog`,
    );
  }

  beforeAll(async () => {
    upstream = await startRecordingUpstream((request, res) => {
      if (request.path === '/fail') return answerJson(res, 502, { error: 'down' });
      answerJson(res, 200, { echo: (JSON.parse(request.body) as { arguments: unknown }).arguments });
    });
    provider = await suite.gateway.createOrg({ name: 'provider', credits: 0n });
    await register('quickQuote', '/run');
    await register('brokenQuote', '/fail');
  });

  const balance = async (orgId: string) => (await getCreditAccount(suite.gateway.database.db, orgId))?.balance ?? 0n;

  it('the treasury gains the price; the payer books x402_payment and charge, the provider its earning, the platform its fee', async () => {
    const account = await payer(kit);
    const [providerBefore, platformBefore, treasuryBefore] = [
      await balance(provider.orgId),
      await balance(PLATFORM_ORG_ID),
      await balanceOf(kit, kit.treasury),
    ];
    const response = await post(suite.baseUrl, '/v1/tools/quickQuote/call', { n: 7 }, {}, payingFetch(kit, account));
    expect(response.status, await response.clone().text()).toBe(200);
    const answer = (await response.json()) as { taskId: string; result: unknown; costMicroUsdc: string };
    expect(answer).toMatchObject({ result: { echo: { n: 7 } }, costMicroUsdc: PRICE.toString() });
    expect(decodePaymentResponseHeader(response.headers.get('payment-response') ?? '')).toMatchObject({ success: true });
    expect((await balanceOf(kit, kit.treasury)) - treasuryBefore).toBe(PRICE);

    const db = suite.gateway.database.db;
    const payerOrg = (await orgOf(db, account)) as string;
    expect(await ledgerOfTask(db, answer.taskId)).toEqual([
      { orgId: payerOrg, kind: 'x402_payment', amount: PRICE },
      { orgId: payerOrg, kind: 'charge', amount: -PRICE },
      { orgId: provider.orgId, kind: 'earning', amount: EARNING },
      { orgId: PLATFORM_ORG_ID, kind: 'fee', amount: FEE },
    ]);
    expect(await balance(payerOrg)).toBe(0n);
    expect((await balance(provider.orgId)) - providerBefore).toBe(EARNING);
    expect((await balance(PLATFORM_ORG_ID)) - platformBefore).toBe(FEE);

    // the provider sees its earning under its own API key
    const earnings = await suite.gateway.app.request('/v1/usage/earnings', { headers: { authorization: `Bearer ${provider.apiKey.key}` } });
    expect(earnings.status).toBe(200);
    expect(JSON.stringify(await earnings.json())).toContain(EARNING.toString());
  });

  it("a member of the provider's own organization paying for its tool: the payer and the provider are one account, booked once each", async () => {
    const account = await payer(kit);
    await addMember(suite.gateway.database.db, { orgId: provider.orgId, address: account.address, role: 'admin', by: OPERATOR });
    const [providerBefore, platformBefore] = [await balance(provider.orgId), await balance(PLATFORM_ORG_ID)];
    const response = await post(suite.baseUrl, '/v1/tools/quickQuote/call', { n: 1 }, {}, payingFetch(kit, account));
    expect(response.status, await response.clone().text()).toBe(200);
    const { taskId } = (await response.json()) as { taskId: string };
    expect((await ledgerOfTask(suite.gateway.database.db, taskId)).map(({ orgId, kind }) => [orgId, kind])).toEqual([
      [provider.orgId, 'x402_payment'],
      [provider.orgId, 'charge'],
      [provider.orgId, 'earning'],
      [PLATFORM_ORG_ID, 'fee'],
    ]);
    expect((await balance(provider.orgId)) - providerBefore).toBe(EARNING);
    expect((await balance(PLATFORM_ORG_ID)) - platformBefore).toBe(FEE);
  });

  it("the provider's upstream failing settles nothing and books nothing: 502, the claim released, the USDC untouched", async () => {
    const account = await payer(kit);
    const [providerBefore, platformBefore] = [await balance(provider.orgId), await balance(PLATFORM_ORG_ID)];
    const response = await post(suite.baseUrl, '/v1/tools/brokenQuote/call', { n: 1 }, {}, payingFetch(kit, account));
    expect(response.status).toBe(502);
    expect(response.headers.get('payment-response')).toBeNull();
    expect(await balanceOf(kit, account.address)).toBe(1_000_000n);
    expect((await paymentsOf(suite.gateway.database.db, account)).map((row) => row.status)).toEqual(['released']);
    expect(await balance(provider.orgId)).toBe(providerBefore);
    expect(await balance(PLATFORM_ORG_ID)).toBe(platformBefore);
  });
});
