import { mkdirSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { type Address, createWalletClient, type Hex, http, type LocalAccount, toHex } from 'viem';
import { foundry } from 'viem/chains';
import { afterAll, beforeAll, expect } from 'vitest';
import { seedDemoData } from '../../src/db/demo-data.js';
import { startTestGateway, type TestGateway, type TestGatewayOptions } from './gateway.js';

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

/** What a browser suite drives: a gateway listening over HTTP and one Chromium. */
export interface BrowserSite {
  gateway: TestGateway;
  baseUrl: string;
  browser: Browser;
}

/**
 * Before the describe block's tests: a gateway (`options()`, read then, so it may use what an
 * earlier hook started) with a little demo ERC-8004 data, listening over HTTP, and a Chromium,
 * handed to `started`; both closed after the tests.
 */
export function useBrowserSite(started: (site: BrowserSite) => void, options: () => TestGatewayOptions = () => ({})) {
  const site: Partial<BrowserSite> = {};
  beforeAll(async () => {
    site.gateway = await startTestGateway(options());
    await seedDemoData(site.gateway.database.db, { now: new Date(), agents: 3, feedbacksPerAgent: 4, validationsPerAgent: 1 });
    site.baseUrl = await site.gateway.listen();
    site.browser = await launchChromium();
    started(site as BrowserSite);
  }, 60_000);
  afterAll(async () => {
    await site.browser?.close();
    await site.gateway?.close();
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

/**
 * The chain the injected test wallet is on and sends transactions to (an anvil), for the suites that
 * send from the page; the test changes the fields as it goes, and the wallet answers as they say.
 */
export interface TestWalletChain {
  rpcUrl: string;
  /** the chain the wallet says it is on: another than the anvil's 31337 is a wallet on the wrong network */
  chainId: number;
  /** the chains it switches to; another answers 4902, as a wallet that has not been told of it */
  knownChains: number[];
  /** the next transaction is refused as its user would refuse it (4001) */
  rejectNext: boolean;
}

type WalletAnswer = { result: unknown } | { error: { code: number; message: string } };

/** The wallet's chain-bound methods, answered in Node: a real signature and a real transaction on the anvil. */
function walletRpc(wallet: LocalAccount, chain: TestWalletChain) {
  const client = createWalletClient({ account: wallet, chain: foundry, transport: http(chain.rpcUrl, { retryCount: 0 }) });
  return async (method: string, params: unknown[]): Promise<WalletAnswer> => {
    if (method === 'eth_chainId') return { result: toHex(chain.chainId) };
    if (method === 'wallet_switchEthereumChain') {
      const wanted = Number((params[0] as { chainId: Hex }).chainId);
      if (!chain.knownChains.includes(wanted)) return { error: { code: 4902, message: `Unrecognized chain ID ${toHex(wanted)}.` } };
      chain.chainId = wanted;
      return { result: null };
    }
    if (method === 'eth_sendTransaction') {
      if (chain.rejectNext) {
        chain.rejectNext = false;
        return { error: { code: 4001, message: 'User rejected the request.' } };
      }
      const call = params[0] as { from: string; to: Address; data: Hex; value?: Hex };
      if (call.from.toLowerCase() !== wallet.address.toLowerCase()) return { error: { code: 4100, message: 'not this wallet' } };
      if (chain.chainId !== foundry.id) return { error: { code: 4901, message: `the test wallet sends only on chain ${foundry.id}` } };
      return { result: await client.sendTransaction({ to: call.to, data: call.data, value: BigInt(call.value ?? 0) }) };
    }
    return { error: { code: 4200, message: `the test wallet does not do ${method}` } };
  };
}

/**
 * The dashboard signed in with an injected EIP-1193 wallet backed by the viem account; with `chain`,
 * the wallet also says its chain, switches it and sends transactions there.
 */
export async function signedInWithWallet(
  browser: Browser,
  baseUrl: string,
  wallet: LocalAccount,
  width = 1280,
  chain?: TestWalletChain,
): Promise<Visit> {
  const seen = await visit(browser, baseUrl, width);
  await seen.page.exposeFunction('testWalletSign', (hex: Hex) => wallet.signMessage({ message: { raw: hex } }));
  if (chain) await seen.page.exposeFunction('testWalletRpc', walletRpc(wallet, chain));
  await seen.page.addInitScript((address: string) => {
    type Rpc = (method: string, params: unknown[]) => Promise<{ result: unknown } | { error: { code: number; message: string } }>;
    const test = globalThis as unknown as { testWalletSign: (hex: string) => Promise<string>; testWalletRpc?: Rpc };
    (globalThis as unknown as { ethereum: unknown }).ethereum = {
      request: async ({ method, params }: { method: string; params?: unknown[] }) => {
        if (method === 'eth_requestAccounts' || method === 'eth_accounts') return [address];
        if (method === 'personal_sign' && params?.[1] === address) return test.testWalletSign(params[0] as string);
        if (!test.testWalletRpc) throw new Error(`the test wallet does not do ${method}`);
        const answer = await test.testWalletRpc(method, params ?? []);
        // thrown as a wallet throws: an error with its EIP-1193 code
        if ('error' in answer) throw Object.assign(new Error(answer.error.message), { code: answer.error.code });
        return answer.result;
      },
    };
  }, wallet.address.toLowerCase());
  await seen.page.goto(`${baseUrl}/dashboard`);
  await seen.page.click('#use-wallet');
  await seen.page.waitForSelector('#app:not([hidden])');
  await expect.poll(() => seen.page.textContent('#prices')).toContain('getAgentProfile');
  return seen;
}
