import { createPublicClient, http, verifyMessage } from 'viem';
import { ChainUnavailableError, readChain } from '../chain/client.js';
import type { SignatureCheck } from './sign-in.js';

/**
 * With a chain RPC, viem's public client verifies EOAs, deployed smart-contract wallets (ERC-1271)
 * and counterfactual ones (ERC-6492). Without one, only EOA signatures can be checked (by recovery).
 * A signature that does not even parse is a wrong signature. An EOA's signature verifies by
 * recovery without the RPC; for a contract wallet viem answers false when the RPC fails, so an
 * outage refuses those sign-ins (bad_signature) rather than letting one through.
 */
export function signatureCheck(chain: { rpcUrl: string | undefined }): SignatureCheck {
  if (!chain.rpcUrl) return (input) => verifyMessage(input).catch(() => false);
  const client = createPublicClient({ transport: http(chain.rpcUrl, { retryCount: 1, timeout: 10_000 }) });
  return async (input) => {
    try {
      return await readChain(() => client.verifyMessage(input));
    } catch (error) {
      if (error instanceof ChainUnavailableError) throw error;
      return false;
    }
  };
}
