import { mkdirSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import type { Hex, LocalAccount } from 'viem';
import { expect } from 'vitest';

/** Debian's Chromium (installed by .ci/run), driven through playwright-core. */
export const CHROMIUM = '/usr/bin/chromium';
/** where the browser suites write their screenshots */
export const ARTIFACTS = 'test/artifacts';

/**
 * Headless Chromium as this machine runs it: without the background networking its closed network
 * refuses, and with the screenshots' folder made.
 */
export async function launchChromium(): Promise<Browser> {
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A page of the dashboard and what it saw: its script's errors, its /v1 requests and every answer it got of 400 or more. */
export interface Visit {
  page: Page;
  errors: string[];
  refused: string[];
  requested: string[];
}

/** A new page `width` px wide (clipboard allowed) that records what it sees. */
export async function visit(browser: Browser, baseUrl: string, width: number): Promise<Visit> {
  const context = await browser.newContext({ viewport: { width, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: baseUrl });
  const page = await context.newPage();
  const seen: Visit = { page, errors: [], refused: [], requested: [] };
  page.on('pageerror', (error) => seen.errors.push(error.message));
  page.on('request', (request) => {
    if (request.url().startsWith(`${baseUrl}/v1/`)) seen.requested.push(`${request.method()} ${new URL(request.url()).pathname}`);
  });
  page.on('response', (response) => {
    if (response.status() >= 400) seen.refused.push(`${response.status()} ${response.request().method()} ${response.url()}`);
  });
  return seen;
}

/** The dashboard signed in with an injected EIP-1193 wallet backed by the viem account. */
export async function signedInWithWallet(browser: Browser, baseUrl: string, wallet: LocalAccount, width = 1280): Promise<Visit> {
  const seen = await visit(browser, baseUrl, width);
  await seen.page.exposeFunction('testWalletSign', (hex: Hex) => wallet.signMessage({ message: { raw: hex } }));
  await seen.page.addInitScript((address: string) => {
    const signer = (globalThis as unknown as { testWalletSign: (hex: string) => Promise<string> }).testWalletSign;
    (globalThis as unknown as { ethereum: unknown }).ethereum = {
      request: async ({ method, params }: { method: string; params?: string[] }) => {
        if (method === 'eth_requestAccounts') return [address];
        if (method === 'personal_sign' && params?.[1] === address) return signer(params[0]!);
        throw new Error(`the test wallet does not do ${method}`);
      },
    };
  }, wallet.address.toLowerCase());
  await seen.page.goto(`${baseUrl}/dashboard`);
  await seen.page.click('#use-wallet');
  await seen.page.waitForSelector('#app:not([hidden])');
  await expect.poll(() => seen.page.textContent('#prices')).toContain('getAgentProfile');
  return seen;
}
