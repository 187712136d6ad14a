import { mkdirSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { type Hex, hexToString } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { request, toolCall, v1Data, v1Send } from '../a2a/support.js';
import { ARTIFACTS, useBrowserSite } from '../helpers/browser.js';
import type { TestGateway } from '../helpers/gateway.js';
import { needs } from '../helpers/requirements.js';

describe('the billing dashboard in headless Chromium', needs('chromium'), () => {
  let gateway: TestGateway;
  let baseUrl: string;
  let browser: Browser;
  useBrowserSite((site) => ({ gateway, baseUrl, browser } = site));

  it('signs in with an API key, shows the balance, and after a paid call shows the spend and its ledger row', async () => {
    const org = await gateway.createOrg({ credits: 2_000_000n });
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));

    await page.goto(`${baseUrl}/dashboard`);
    await page.fill('#apikey', org.apiKey.key);
    await page.click('#use-key');
    await page.waitForSelector('#app:not([hidden])');
    await expect.poll(() => page.textContent('#balance')).toBe('2.00 USDC available');

    const paid = await fetch(`${baseUrl}/a2a`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${org.apiKey.key}` },
      body: JSON.stringify(request('SendMessage', v1Send([v1Data(toolCall('getReputationSummary', { agentId: 1 }))]))),
    });
    expect(paid.status).toBe(200);

    await page.reload();
    await page.waitForSelector('#app:not([hidden])');
    await expect.poll(() => page.textContent('#balance')).toBe('1.99 USDC available');
    // The balance shows first; the usage, ledger and tasks tables fill in after it.
    await expect.poll(() => page.textContent('#ledger')).toContain('charge');
    expect(await page.textContent('#ledger')).toContain('-0.01 USDC');
    await expect.poll(() => page.textContent('#usage')).toContain('getReputationSummary');
    expect(await page.locator('#chart-tool canvas').count()).toBeGreaterThan(0);
    await expect.poll(() => page.textContent('#prices')).toContain('getAgentProfile');

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}/dashboard.png`, fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('signs in with an injected wallet (EIP-4361, as MetaMask answers: lower-case address, personal_sign) and shows its organization', async () => {
    const wallet = privateKeyToAccount(generatePrivateKey());
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    const signed: string[] = [];
    await page.exposeFunction('testWalletSign', async (hex: Hex) => {
      signed.push(hexToString(hex));
      return wallet.signMessage({ message: { raw: hex } });
    });
    await page.addInitScript((address: string) => {
      const signer = (globalThis as unknown as { testWalletSign: (hex: string) => Promise<string> }).testWalletSign;
      (globalThis as unknown as { ethereum: unknown }).ethereum = {
        request: async ({ method, params }: { method: string; params?: string[] }) => {
          if (method === 'eth_requestAccounts') return [address];
          if (method === 'personal_sign' && params?.[1] === address) return signer(params[0]!);
          throw new Error(`the test wallet does not do ${method}`);
        },
      };
    }, wallet.address.toLowerCase());

    await page.goto(`${baseUrl}/dashboard`);
    await page.click('#use-wallet');
    await page.waitForSelector('#app:not([hidden])');
    await expect.poll(() => page.textContent('#who')).toContain(wallet.address.toLowerCase());
    expect(signed).toHaveLength(1);
    expect(signed[0]).toContain('wants you to sign in with your Ethereum account');
    expect(signed[0]).toContain(`URI: ${baseUrl}`);
    // A session (not an API key) may read the organization's top-ups.
    await expect.poll(() => page.textContent('#topups')).not.toContain('Sign in with a wallet');
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-wallet.png`, fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('the API reference renders every operation of /openapi.json and sends one with the key', async () => {
    const org = await gateway.createOrg({ credits: 1_500_000n });
    const documented = (await (await fetch(`${baseUrl}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const operations = Object.values(documented.paths).reduce((count, methods) => count + Object.keys(methods).length, 0);
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));

    await page.goto(`${baseUrl}/reference`);
    await expect.poll(() => page.locator('#operations > details').count()).toBe(operations);
    await page.fill('#token', org.apiKey.key);

    const balance = page.locator('#get--v1-balance');
    await balance.locator('summary').click();
    await balance.locator('button.send').click();
    await expect.poll(() => balance.locator('.response').textContent()).toContain('"availableDisplay": "1.50 USDC"');
    expect(await balance.locator('.curl').textContent()).toBe(`curl -sS -X GET '${baseUrl}/v1/balance' -H 'authorization: Bearer $KEY'`);

    const usage = page.locator('#get--v1-usage');
    await usage.locator('summary').click();
    await usage.locator('input[name="by"]').fill('nonsense');
    await usage.locator('button.send').click();
    await expect.poll(() => usage.locator('.result').textContent()).toContain('HTTP 400');
    expect(await usage.locator('.response').textContent()).toContain('"code": "invalid_request"');
    await page.screenshot({ path: `${ARTIFACTS}/reference.png`, fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('a wrong key is refused on the sign-in form, with the reason', async () => {
    const page = await browser.newPage();
    await page.goto(`${baseUrl}/dashboard`);
    await page.fill('#apikey', 'apg_not-a-key');
    await page.click('#use-key');
    await expect.poll(() => page.textContent('#signin-error')).toContain('unknown, revoked or expired');
  }, 30_000);
});
