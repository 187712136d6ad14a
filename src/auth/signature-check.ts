import { createPublicClient, http, verifyMessage } from 'viem';
import type { SignatureCheck } from './sign-in.js';

/**
 * With a chain RPC, viem's public client verifies EOAs, deployed smart-contract wallets (ERC-1271)
 * and counterfactual ones (ERC-6492). Without one, only EOA signatures can be checked (by recovery).
 * A signature that does not even parse is a wrong signature, not an error.
 */
export function signatureCheck(chain: { rpcUrl: string | undefined }): SignatureCheck {
  if (!chain.rpcUrl) return (input) => verifyMessage(input).catch(() => false);
  const client = createPublicClient({ transport: http(chain.rpcUrl) });
  return async (input) => {
    try {
      return await client.verifyMessage(input);
    } catch (error) {
      if (isMalformedSignature(error)) return false;
      throw error;
    }
  };
}

function isMalformedSignature(error: unknown): boolean {
  return error instanceof Error && /signature/i.test(error.name + error.message) && !/HttpRequestError|fetch/i.test(error.name);
}
