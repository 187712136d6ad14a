import { HttpRequestError, TimeoutError } from 'viem';
import { describe, expect, it } from 'vitest';
import { plainMessage } from '../../src/x402/payments.js';

/** What of a facilitator's error text reaches a client: the x402 SDK passes viem's whole error on. */
describe('plainMessage', () => {
  const rpc = 'https://base-mainnet.example.com/v2/sEcReTrPcKeY';

  it("keeps viem's first line only: no RPC URL, no request body", () => {
    const error = new HttpRequestError({
      url: rpc,
      body: { method: 'eth_sendRawTransaction', params: [`0x${'ab'.repeat(300)}`] },
      status: 500,
    });
    expect(error.message).toContain('sEcReTrPcKeY');
    const told = plainMessage(error.message);
    expect(told).toBe('HTTP request failed.');
    expect(plainMessage(new TimeoutError({ url: rpc, body: {} }).message)).not.toContain('sEcReTrPcKeY');
  });

  it('drops URLs and long hex from the line it keeps, and bounds it', () => {
    expect(plainMessage(`call to ${rpc} reverted with 0x${'cd'.repeat(65)}`)).toBe('call to [url] reverted with 0x…');
    expect(plainMessage('x'.repeat(1_000))).toHaveLength(200);
    expect(plainMessage('\nsecond line only')).toBeUndefined();
    expect(plainMessage(undefined)).toBeUndefined();
  });
});
