import { openWalletAuth, type WalletAuth } from '../../src/auth/wallet-auth.js';
import type { Config } from '../../src/config.js';
import type { Database } from '../../src/db/client.js';

/** The sign-in domain and chain test gateways expect (anvil's default chain id). */
export const TEST_SIGN_IN = { domain: 'gateway.test', chainId: 31337 } as const;

/** Wallet sign-in for a test gateway; `rpcUrl` (a local anvil) adds ERC-1271 smart-wallet signatures. */
export function testWalletAuth(
  db: Database,
  options: { rpcUrl?: string; sessionTtlS?: number; nonceTtlS?: number; noncesPerMinute?: number; trustProxy?: boolean } = {},
): Promise<WalletAuth> {
  const config: Pick<Config, 'chain' | 'signIn'> = {
    chain: { id: TEST_SIGN_IN.chainId, rpcUrl: options.rpcUrl },
    signIn: {
      domain: TEST_SIGN_IN.domain,
      nonceTtlS: options.nonceTtlS ?? 300,
      sessionTtlS: options.sessionTtlS ?? 900,
      sessionSecret: undefined,
      noncesPerMinute: options.noncesPerMinute ?? 30,
      trustProxy: options.trustProxy ?? false,
    },
  };
  return openWalletAuth(db, config);
}
