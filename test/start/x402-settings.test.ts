import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { startBanner } from '../../src/start-banner.js';

/** Which settings take x402 payments (docs/adr/0023), and what the start banner says of them. */
const TREASURY = '0x00000000000000000000000000000000000000aa';
const KEY = `0x${'11'.repeat(32)}`;
const RPC = 'http://127.0.0.1:8545';

describe('x402 settings', () => {
  it('off unless a treasury and a way to settle are set', () => {
    expect(loadConfig({}).x402).toBeUndefined();
    expect(loadConfig({ TREASURY_ADDRESS: TREASURY, CHAIN_RPC_URL: RPC }).x402).toBeUndefined();
  });

  it("with a facilitator on Base: Circle's USDC, signed as 'USD Coin' version 2, paid to the treasury", () => {
    const { x402 } = loadConfig({
      TREASURY_ADDRESS: TREASURY,
      CHAIN_RPC_URL: RPC,
      X402_FACILITATOR_URL: 'https://facilitator.example/x402',
    });
    expect(x402).toMatchObject({
      network: 'eip155:8453',
      asset: '0x833589fcd6edb6e08f4c7c32d4f71b54bda02913',
      payTo: TREASURY,
      token: { name: 'USD Coin', version: '2' },
      settle: { kind: 'facilitator', url: 'https://facilitator.example/x402' },
      offerTtlS: 600,
    });
    expect(
      loadConfig({ CHAIN_ID: '84532', TREASURY_ADDRESS: TREASURY, CHAIN_RPC_URL: RPC, X402_FACILITATOR_URL: 'https://f.example' }).x402
        ?.token,
    ).toEqual({
      name: 'USDC',
      version: '2',
    });
  });

  it('settled by the gateway itself with a settler key over CHAIN_RPC_URL', () => {
    const { x402 } = loadConfig({ TREASURY_ADDRESS: TREASURY, CHAIN_RPC_URL: RPC, X402_SETTLER_PRIVATE_KEY: KEY });
    expect(x402?.settle).toEqual({ kind: 'self', rpcUrl: RPC, privateKey: KEY });
  });

  it('refuses settings that cannot work, saying which', () => {
    const refused = (env: Record<string, string>, message: RegExp) => {
      expect(() => loadConfig(env)).toThrow(ConfigError);
      expect(() => loadConfig(env)).toThrow(message);
    };
    refused({ X402_FACILITATOR_URL: 'https://f.example' }, /TREASURY_ADDRESS: is needed to take x402 payments/);
    refused(
      { TREASURY_ADDRESS: TREASURY, CHAIN_RPC_URL: RPC, X402_SETTLER_PRIVATE_KEY: '0x1234' },
      /X402_SETTLER_PRIVATE_KEY: must be a 0x-prefixed 32-byte hex private key/,
    );
    refused(
      { TREASURY_ADDRESS: TREASURY, CHAIN_RPC_URL: RPC, X402_SETTLER_PRIVATE_KEY: KEY, X402_FACILITATOR_URL: 'https://f.example' },
      /X402_SETTLER_PRIVATE_KEY: settles x402 payments itself/,
    );
    refused(
      { CHAIN_ID: '10', TREASURY_ADDRESS: TREASURY, CHAIN_RPC_URL: RPC, USDC_ADDRESS: TREASURY, X402_FACILITATOR_URL: 'https://f.example' },
      /X402_TOKEN_NAME: has no default for chain 10/,
    );
  });

  it('the banner says who settles, naming a facilitator by its origin and never the settler key', () => {
    const self = loadConfig({ TREASURY_ADDRESS: TREASURY, CHAIN_RPC_URL: RPC, X402_SETTLER_PRIVATE_KEY: KEY }).x402;
    const banner = startBanner('http://127.0.0.1:3000', undefined, { kind: 'memory' }, self);
    expect(banner).toContain(`  x402:        calls without an API key pay per call to ${TREASURY} on eip155:8453, settled by this gateway`);
    expect(banner).not.toContain('1111');
    const viaFacilitator = loadConfig({
      TREASURY_ADDRESS: TREASURY,
      CHAIN_RPC_URL: RPC,
      X402_FACILITATOR_URL: 'https://user:pw@f.example/x402',
    }).x402;
    const named = startBanner('http://127.0.0.1:3000', undefined, { kind: 'memory' }, viaFacilitator);
    expect(named).toContain('settled by the facilitator at https://f.example');
    expect(named).not.toContain('pw@');
    expect(startBanner('http://127.0.0.1:3000', undefined, { kind: 'memory' })).toContain('  x402:        off;');
  });
});
