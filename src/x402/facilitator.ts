import { x402Facilitator } from '@x402/core/facilitator';
import { type FacilitatorClient, HTTPFacilitatorClient } from '@x402/core/server';
import { toFacilitatorEvmSigner } from '@x402/evm';
import { registerExactEvmScheme } from '@x402/evm/exact/facilitator';
import { createWalletClient, http, nonceManager, publicActions } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import type { Config } from '../config.js';

export type X402Settings = NonNullable<Config['x402']>;

/**
 * What verifies and settles x402 payments: a facilitator over HTTP (its /verify and /settle), or
 * the x402 project's own facilitator run in this process, which submits `transferWithAuthorization`
 * itself from the settler key over CHAIN_RPC_URL (the key pays the gas, never the USDC).
 */
export function createFacilitator(settings: X402Settings): FacilitatorClient {
  if (settings.settle.kind === 'facilitator') return new HTTPFacilitatorClient({ url: settings.settle.url });
  // Its nonces are counted here (viem's nonce manager, reset after a failed send): asking the chain
  // for each transfer gave calls settling at once the same nonce, and all but one failed. So each
  // instance needs a settler key of its own (README, X402_SETTLER_PRIVATE_KEY).
  const account = privateKeyToAccount(settings.settle.privateKey, { nonceManager });
  // A receipt is looked for every half second (viem's default without a chain is 4 s, added to every call).
  const wallet = createWalletClient({
    account,
    pollingInterval: 500,
    transport: http(settings.settle.rpcUrl, { retryCount: 2, timeout: 15_000 }),
  }).extend(publicActions);
  // viem's typed-data and contract-call signatures are narrower than the x402 signer's generic ones
  const signer = toFacilitatorEvmSigner({ ...wallet, address: account.address } as unknown as Parameters<typeof toFacilitatorEvmSigner>[0]);
  const facilitator = registerExactEvmScheme(new x402Facilitator(), { signer, networks: settings.network });
  return {
    verify: (payload, requirements) => facilitator.verify(payload, requirements),
    settle: (payload, requirements) => facilitator.settle(payload, requirements),
    getSupported: async () => facilitator.getSupported() as Awaited<ReturnType<FacilitatorClient['getSupported']>>,
  };
}
