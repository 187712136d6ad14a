import type { Browser, Page } from 'playwright-core';
import { type Address, erc20Abi, type Hex, type LocalAccount } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TopUpChain } from '../../src/chain/client.js';
import { ARTIFACTS, signedInWithWallet, type TestWalletChain, useBrowserSite } from '../helpers/browser.js';
import { deployTestUsdc, type LocalChain, startLocalChain, usdcArtifact } from '../helpers/chain.js';
import { checkLedgerAfterEach, type TestGateway } from '../helpers/gateway.js';
import { needs } from '../helpers/requirements.js';
import { rest, signIn } from '../helpers/sign-in.js';

/** more than one, so a transfer the page sent is seen pending (anvil mines it with 1) before it is credited */
const CONFIRMATIONS = 3;

describe('the dashboard tops up from the wallet, on a local chain', needs('chromium'), () => {
  let chain: LocalChain;
  let gateway: TestGateway;
  let baseUrl: string;
  let browser: Browser;
  let topUpChain: TopUpChain;

  beforeAll(async () => {
    chain = await startLocalChain();
    const deployer = await chain.fundedWallet();
    const usdc = await deployTestUsdc(chain, deployer);
    topUpChain = {
      chainId: foundry.id,
      usdc: usdc.address,
      treasury: privateKeyToAccount(generatePrivateKey()).address,
      confirmations: CONFIRMATIONS,
    };
  }, 60_000);
  afterAll(() => chain?.stop());
  useBrowserSite(
    (site) => ({ gateway, baseUrl, browser } = site),
    () => ({ rpcUrl: chain.rpcUrl, topUpChain }),
  );
  checkLedgerAfterEach(() => [gateway]);

  /** A wallet with gas and 10 USDC. */
  async function walletWithUsdc(): Promise<LocalAccount> {
    const wallet = await chain.fundedWallet();
    await chain.write(wallet, {
      address: topUpChain.usdc,
      abi: usdcArtifact.abi,
      functionName: 'mint',
      args: [wallet.address, 10_000_000n],
    });
    return wallet;
  }

  /** The injected wallet on the anvil's chain unless told. */
  const walletChain = (fields: Partial<TestWalletChain> = {}): TestWalletChain => ({
    rpcUrl: chain.rpcUrl,
    chainId: foundry.id,
    knownChains: [foundry.id],
    rejectNext: false,
    ...fields,
  });

  const usdcOf = (address: Address) =>
    chain.publicClient.readContract({ address: topUpChain.usdc, abi: erc20Abi, functionName: 'balanceOf', args: [address] });

  const status = (page: Page) => page.textContent('#topup-status');

  async function expectNoHorizontalOverflow(page: Page, name: string) {
    await page.setViewportSize({ width: 390, height: 900 });
    await expect.poll(() => page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await page.screenshot({ path: `${ARTIFACTS}/${name}-390.png`, fullPage: true });
  }

  it('an owner sends 2.5 USDC from the page: pending with its confirmations, then credited, and the balance, ledger and table follow without a reload', async () => {
    const wallet = await walletWithUsdc();
    const { page, errors, refused } = await signedInWithWallet(browser, baseUrl, wallet, 1280, walletChain());
    await expect.poll(() => page.textContent('#topups')).toContain('No top-ups recorded yet.');
    const balanceBefore = await page.textContent('#balance');
    expect(balanceBefore).toBe('0.00 USDC available');
    expect(await page.textContent('#topup')).toContain(topUpChain.treasury);
    expect(await page.isVisible('#topup-chain')).toBe(false);
    const treasuryBefore = await usdcOf(topUpChain.treasury);
    // a mark a reload would wipe
    await page.evaluate('window.notReloaded = true');

    // By keyboard: the labelled amount, Enter sends; the wallet signs and the anvil mines it (1 confirmation).
    await page.getByLabel('Amount in USDC').fill('2.5');
    await page.getByLabel('Amount in USDC').press('Enter');
    await expect.poll(() => status(page)).toMatch(/: pending, 1 of 3 confirmations\.$/);
    expect(await usdcOf(topUpChain.treasury)).toBe(treasuryBefore + 2_500_000n);
    expect(await usdcOf(wallet.address)).toBe(7_500_000n);
    expect(await page.textContent('#balance')).toBe('0.00 USDC available');
    expect(await page.getByLabel('Amount in USDC').inputValue()).toBe('');
    // the wallet has answered: another top-up may be sent while this one is followed
    expect(await page.isEnabled('#topup-send')).toBe(true);
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-topup-pending-1280.png`, fullPage: true });

    await chain.mine(1);
    await expect.poll(() => status(page), { timeout: 10_000 }).toMatch(/: pending, 2 of 3 confirmations\.$/);
    await chain.mine(1);
    await expect.poll(() => status(page), { timeout: 10_000 }).toMatch(/: credited, 2\.50 USDC\.$/);
    await expect.poll(() => page.textContent('#balance')).toBe('2.50 USDC available');
    const ledgerRow = page.locator('#ledger tr', { hasText: 'topup' });
    await expect.poll(() => ledgerRow.count()).toBe(1);
    expect(await ledgerRow.textContent()).toContain('2.50 USDC');
    expect(await ledgerRow.textContent()).toContain('USDC transfer 31337:0x');
    const topUpRow = page.locator('#topups tr', { hasText: 'credited' });
    expect(await topUpRow.count()).toBe(1);
    expect(await topUpRow.textContent()).toContain('2.50 USDC');
    expect(await page.evaluate('window.notReloaded')).toBe(true);
    expect(await page.textContent('#topup-error')).toBe('');
    expect(errors).toEqual([]);
    expect(refused).toEqual([]);
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-topup-credited-1280.png`, fullPage: true });
    await expectNoHorizontalOverflow(page, 'dashboard-topup-credited');
    // The ledger's card of the top-up (its reason holds the whole hash) stays inside its section.
    expect(await page.evaluate<boolean>("[...document.querySelectorAll('.scroll')].every((s) => s.scrollWidth <= s.clientWidth)")).toBe(
      true,
    );
    await page.context().close();
  });

  it('a wallet on another chain is offered the switch; a chain it does not know is said; once switched, the send works', async () => {
    const wallet = await walletWithUsdc();
    const onMainnet = walletChain({ chainId: 1, knownChains: [1] });
    const { page, errors } = await signedInWithWallet(browser, baseUrl, wallet, 1280, onMainnet);

    // Offered on arrival, before an amount is typed.
    await expect.poll(() => page.isVisible('#topup-chain')).toBe(true);
    expect(await page.textContent('#topup-chain-text')).toBe(
      'Your wallet is on chain 1; top-ups are taken on chain 31337. Switch it before sending.',
    );
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-topup-wrong-chain-1280.png`, fullPage: true });

    // The wallet has not heard of the anvil's chain: 4902, said as what to do.
    await page.getByRole('button', { name: 'Switch wallet to chain 31337' }).press('Enter');
    await expect
      .poll(() => page.textContent('#topup-error'))
      .toBe('Your wallet does not know chain 31337: add the network in your wallet, then switch to it and try again.');
    expect(await page.isVisible('#topup-chain')).toBe(true);
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-topup-unknown-chain-1280.png`, fullPage: true });

    // Told of it, the wallet switches; the focus goes on to Send.
    onMainnet.knownChains.push(foundry.id);
    await page.getByRole('button', { name: 'Switch wallet to chain 31337' }).press('Enter');
    await expect.poll(() => page.isVisible('#topup-chain')).toBe(false);
    expect(await status(page)).toBe('Your wallet is on chain 31337 now: send to top up.');
    expect(await page.textContent('#topup-error')).toBe('');
    expect(await page.evaluate<string>('document.activeElement.id')).toBe('topup-send');

    // The wallet moved away again before sending: the prompt comes back, and nothing is sent.
    onMainnet.chainId = 1;
    await page.getByLabel('Amount in USDC').fill('1');
    await page.click('#topup-send');
    await expect.poll(() => page.isVisible('#topup-chain')).toBe(true);
    expect(await page.evaluate<string>('document.activeElement.id')).toBe('topup-switch');
    expect(await usdcOf(wallet.address)).toBe(10_000_000n);

    await page.click('#topup-switch');
    await expect.poll(() => page.isVisible('#topup-chain')).toBe(false);
    await page.click('#topup-send');
    await expect.poll(() => status(page)).toMatch(/: pending, 1 of 3 confirmations\.$/);
    await chain.mine(CONFIRMATIONS - 1);
    await expect.poll(() => status(page), { timeout: 10_000 }).toMatch(/: credited, 1\.00 USDC\.$/);
    await expect.poll(() => page.textContent('#balance')).toBe('1.00 USDC available');
    expect(await usdcOf(wallet.address)).toBe(9_000_000n);
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('a transaction the user rejects in the wallet is a plain line, and nothing is sent; a bad amount is said before the wallet is asked', async () => {
    const wallet = await walletWithUsdc();
    const rejecting = walletChain({ rejectNext: true });
    const { page, errors, requested } = await signedInWithWallet(browser, baseUrl, wallet, 1280, rejecting);
    await expect.poll(() => page.isVisible('#topup-send-form')).toBe(true);

    await page.getByLabel('Amount in USDC').fill('0');
    await page.click('#topup-send');
    await expect.poll(() => page.textContent('#topup-error')).toBe('the amount must be more than 0 and at most 1000000.00 USDC a top-up');
    await page.getByLabel('Amount in USDC').fill('1.1234567');
    await page.click('#topup-send');
    await expect
      .poll(() => page.textContent('#topup-error'))
      .toBe('the amount must be an amount of USDC with at most 6 decimals, e.g. 5 or 0.25');
    expect(rejecting.rejectNext).toBe(true);

    await page.getByLabel('Amount in USDC').fill('2');
    await page.click('#topup-send');
    await expect.poll(() => status(page)).toBe('You rejected the request in your wallet; nothing was sent.');
    expect(rejecting.rejectNext).toBe(false);
    expect(await page.textContent('#topup-error')).toBe('');
    expect(await usdcOf(wallet.address)).toBe(10_000_000n);
    expect(requested.filter((r) => r === 'POST /v1/topups')).toEqual([]);
    expect(await page.isEnabled('#topup-send')).toBe(true);
    expect(errors).toEqual([]);
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-topup-rejected-1280.png`, fullPage: true });
    await page.context().close();
  });

  it('the hash of a transfer made outside the page, submitted by hand, is followed until credited; an unknown hash is said at once', async () => {
    const wallet = await walletWithUsdc();
    // no chain given: this wallet only signs in, the transfer is made from elsewhere
    const { page, errors } = await signedInWithWallet(browser, baseUrl, wallet);
    await expect.poll(() => page.isVisible('#topup-hash-form')).toBe(true);

    const unknown = `0x${'ab'.repeat(32)}` as Hex;
    await page.getByLabel('Transaction hash').fill(unknown);
    await page.getByLabel('Transaction hash').press('Enter');
    await expect.poll(() => page.textContent('#topup-error')).toBe(`chain 31337 knows no transaction ${unknown}`);
    expect(await status(page)).toBe('');

    const txHash = await chain.write(wallet, {
      address: topUpChain.usdc,
      abi: usdcArtifact.abi,
      functionName: 'transfer',
      args: [topUpChain.treasury, 4_000_000n],
    });
    await page.getByLabel('Transaction hash').fill(txHash);
    await page.getByLabel('Transaction hash').press('Enter');
    await expect.poll(() => status(page)).toMatch(/: pending, 1 of 3 confirmations\.$/);
    expect(await page.textContent('#topup-error')).toBe('');
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-topup-hash-pending-1280.png`, fullPage: true });
    await chain.mine(CONFIRMATIONS - 1);
    await expect.poll(() => status(page), { timeout: 10_000 }).toMatch(/: credited, 4\.00 USDC\.$/);
    await expect.poll(() => page.textContent('#balance')).toBe('4.00 USDC available');
    expect(await page.getByLabel('Transaction hash').inputValue()).toBe('');
    expect(await page.locator('#topups tr', { hasText: txHash.slice(0, 10) }).count()).toBe(1);

    // The same hash again: credited once, said so.
    await page.getByLabel('Transaction hash').fill(txHash);
    await page.click('#topup-hash-submit');
    await expect.poll(() => status(page)).toMatch(/: already credited, 4\.00 USDC\.$/);
    await expect.poll(() => page.textContent('#balance')).toBe('4.00 USDC available');
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('a viewer reads the instructions and the top-ups, with no control to send or submit', async () => {
    const ownerWallet = await walletWithUsdc();
    const owner = await signIn(gateway, ownerWallet);
    const viewerWallet = privateKeyToAccount(generatePrivateKey());
    expect((await rest(gateway, 'POST', '/v1/members', { address: viewerWallet.address, role: 'viewer' }, owner.token)).status).toBe(201);
    const txHash = await chain.write(ownerWallet, {
      address: topUpChain.usdc,
      abi: usdcArtifact.abi,
      functionName: 'transfer',
      args: [topUpChain.treasury, 3_000_000n],
    });
    await chain.mine(CONFIRMATIONS - 1);
    expect((await rest(gateway, 'POST', '/v1/topups', { txHash }, owner.token)).status).toBe(200);

    const { page, errors } = await signedInWithWallet(browser, baseUrl, viewerWallet, 1280, walletChain());
    await expect.poll(() => page.textContent('#topups')).toContain('3.00 USDC');
    expect(await page.textContent('#topup')).toContain(topUpChain.treasury);
    expect(await page.textContent('#topup')).toContain('Admins and owners send and submit top-ups here');
    expect(await page.locator('#topup-section button:visible').count()).toBe(0);
    expect(await page.isVisible('#topup-send-form')).toBe(false);
    expect(await page.isVisible('#topup-hash-form')).toBe(false);
    expect(await page.textContent('#balance')).toBe('3.00 USDC available');
    expect(errors).toEqual([]);
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-topup-viewer-1280.png`, fullPage: true });
    await expectNoHorizontalOverflow(page, 'dashboard-topup-viewer');
    await page.context().close();
  });
});
