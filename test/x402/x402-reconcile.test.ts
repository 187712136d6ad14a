import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { LocalAccount } from 'viem';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { signInWallet } from '../../src/auth/members.js';
import { getCreditAccount } from '../../src/billing/accounts.js';
import { claimAuthorization, failClaim } from '../../src/billing/x402-payments.js';
import { reconcileClaims } from '../../src/x402/reconcile.js';
import { authorizationArgs, type SignedAuthorization, signTransferAuthorization, usdcArtifact } from '../helpers/chain.js';
import { useSeededGateway } from '../helpers/seeded-gateway.js';
import { NETWORK, payer, useX402Chain } from './x402-kit.js';

/**
 * Claims whose transfer may have landed unbooked (a process that died between settling and its
 * books, a settlement that timed out and landed later) are reconciled from the token's own record:
 * the money is never lost (docs/adr/0023).
 */
const kit = useX402Chain();
let settler: LocalAccount;

beforeAll(async () => {
  settler = await kit.chain.fundedWallet();
});

const suite = useSeededGateway({ demoData: false });
const db = () => suite.gateway.database.db;

/** What payForCall claims before it runs a tool: the authorization, for the payer's organization. */
async function claim(account: LocalAccount, signed: SignedAuthorization) {
  const { membership } = await signInWallet(db(), account.address, null);
  const id = await claimAuthorization(db(), {
    network: NETWORK,
    asset: kit.token.address,
    payer: account.address,
    nonce: signed.authorization.nonce,
    amount: signed.authorization.value,
    orgId: membership.orgId,
    taskId: randomUUID(),
    tool: 'getReputationSummary',
    validBefore: signed.authorization.validBefore,
  });
  if (id === undefined) throw new Error('not claimed');
  return { id, orgId: membership.orgId };
}

const statusOf = async (id: bigint) =>
  (await db().rows(z.object({ status: z.string() }), sql`select status::text as status from x402_payments where id = ${id}`))[0]?.status;

const settle = (signed: SignedAuthorization) =>
  kit.chain.write(settler, {
    address: kit.token.address,
    abi: usdcArtifact.abi,
    functionName: 'transferWithAuthorization',
    args: authorizationArgs(signed),
  });

describe('reconciling x402 claims with the chain', () => {
  it('a transfer that landed while its call was never booked is credited to the payer, once', async () => {
    const account = await payer(kit);
    const signed = await signTransferAuthorization({ account, token: kit.token, to: kit.treasury, value: 10_000n });
    const { id, orgId } = await claim(account, signed);
    await settle(signed); // the process settled, then died before its books

    expect(await reconcileClaims(db(), kit.chain.publicClient, { claimedForMs: 0 })).toEqual({ credited: 1, closed: 0 });
    expect(await statusOf(id)).toBe('settled');
    expect((await getCreditAccount(db(), orgId))?.balance).toBe(10_000n);
    const ledger = await db().rows(
      z.object({ kind: z.string(), amount: z.bigint() }),
      sql`select kind::text as kind, amount from ledger_entries where org_id = ${orgId}`,
    );
    expect(ledger).toEqual([{ kind: 'x402_payment', amount: 10_000n }]);
    expect(await reconcileClaims(db(), kit.chain.publicClient, { claimedForMs: 0 })).toEqual({ credited: 0, closed: 0 });
    expect((await getCreditAccount(db(), orgId))?.balance).toBe(10_000n);
  });

  it('a failed settlement that landed after all is credited too', async () => {
    const account = await payer(kit);
    const signed = await signTransferAuthorization({ account, token: kit.token, to: kit.treasury, value: 20_000n });
    const { id, orgId } = await claim(account, signed);
    await failClaim(db(), id, { error: 'settle_unavailable' });
    await settle(signed);
    await db().run(sql`update x402_payments set updated_at = now() - interval '2 minutes' where id = ${id}`);
    expect((await reconcileClaims(db(), kit.chain.publicClient)).credited).toBe(1);
    expect((await getCreditAccount(db(), orgId))?.balance).toBe(20_000n);
  });

  it('an unused authorization: left alone while it may still land, closed once it expired', async () => {
    const account = await payer(kit);
    const live = await signTransferAuthorization({ account, token: kit.token, to: kit.treasury, value: 10_000n });
    const stillValid = await claim(account, live);
    const expired = await signTransferAuthorization({
      account,
      token: kit.token,
      to: kit.treasury,
      value: 10_000n,
      validBefore: BigInt(Math.floor(Date.now() / 1000) - 60),
    });
    const gone = await claim(account, expired);
    expect(await reconcileClaims(db(), kit.chain.publicClient, { claimedForMs: 0 })).toEqual({ credited: 0, closed: 1 });
    expect(await statusOf(stillValid.id)).toBe('claimed');
    expect(await statusOf(gone.id)).toBe('released');
    expect((await getCreditAccount(db(), gone.orgId))?.balance).toBe(0n);
  });

  it('a claim younger than any call is not looked at', async () => {
    const account = await payer(kit);
    const signed = await signTransferAuthorization({ account, token: kit.token, to: kit.treasury, value: 10_000n });
    const { id } = await claim(account, signed);
    await settle(signed);
    expect(await reconcileClaims(db(), kit.chain.publicClient)).toEqual({ credited: 0, closed: 0 });
    expect(await statusOf(id)).toBe('claimed');
    // left for the sweep after it: the suite's ledger check would not notice an unbooked transfer
    await reconcileClaims(db(), kit.chain.publicClient, { claimedForMs: 0 });
  });
});
