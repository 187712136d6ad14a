import type { Config } from '../config.js';
import type { Database } from '../db/client.js';
import { loadSessionSecret, type Sessions, sessions } from './sessions.js';
import type { SignatureCheck } from './sign-in.js';
import { signatureCheck } from './signature-check.js';

/** Everything wallet sign-in needs, built once at start-up. */
export interface WalletAuth {
  sessions: Sessions;
  checkSignature: SignatureCheck;
  /**
   * What an EIP-4361 message must name, how long a nonce lives, how many nonces one client address
   * may take a minute, and whether X-Forwarded-For names the client (behind a trusted proxy).
   */
  settings: { domain: string; chainId: number; nonceTtlS: number; noncesPerMinute: number; trustProxy: boolean };
}

export async function openWalletAuth(db: Database, config: Pick<Config, 'chain' | 'signIn'>): Promise<WalletAuth> {
  const secret = await loadSessionSecret(db, config.signIn.sessionSecret);
  return {
    sessions: sessions(secret, config.signIn.sessionTtlS),
    checkSignature: signatureCheck({ rpcUrl: config.chain.rpcUrl }),
    settings: {
      domain: config.signIn.domain,
      chainId: config.chain.id,
      nonceTtlS: config.signIn.nonceTtlS,
      noncesPerMinute: config.signIn.noncesPerMinute,
      trustProxy: config.signIn.trustProxy,
    },
  };
}
