import type { Browser, Page } from 'playwright-core';
import type { LocalAccount } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { ARTIFACTS, signedInWithWallet as signInInPage, useBrowserSite } from '../helpers/browser.js';
import type { TestGateway } from '../helpers/gateway.js';
import { needs } from '../helpers/requirements.js';
import { signIn } from '../helpers/sign-in.js';

const newWallet = () => privateKeyToAccount(generatePrivateKey());

describe('the dashboard runs an organization: members added and removed by the owner, a low-balance alert', needs('chromium'), () => {
  let gateway: TestGateway;
  let baseUrl: string;
  let browser: Browser;
  useBrowserSite((site) => ({ gateway, baseUrl, browser } = site));

  const signedInWithWallet = (wallet: LocalAccount, width = 1280) => signInInPage(browser, baseUrl, wallet, width);

  async function expectNoHorizontalOverflow(page: Page, name: string) {
    await page.setViewportSize({ width: 390, height: 900 });
    await expect.poll(() => page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await page.screenshot({ path: `${ARTIFACTS}/${name}-390.png`, fullPage: true });
  }

  it('an owner adds a viewer wallet, the viewer sees the members read-only, the owner removes them', async () => {
    const ownerWallet = newWallet();
    await signIn(gateway, ownerWallet);
    const viewerWallet = newWallet();
    const viewerAddress = viewerWallet.address.toLowerCase();
    const owner = await signedInWithWallet(ownerWallet);
    const { page } = owner;

    // The owner's own row, without a Remove button (a session does not remove itself).
    const members = page.locator('#members');
    await expect.poll(() => members.textContent()).toContain('(you)');
    expect(await members.textContent()).toContain('owner');
    expect(await members.locator('button').count()).toBe(0);

    // By keyboard: the labelled fields, Enter submits; the focus comes back to the address for the next one.
    await page.getByLabel('Wallet address').fill(viewerWallet.address);
    await page.getByLabel('Role').selectOption('viewer');
    await page.getByLabel('Wallet address').press('Enter');
    const viewerRow = page.locator('#members tr', { hasText: viewerAddress });
    await expect.poll(() => viewerRow.count()).toBe(1);
    expect(await viewerRow.textContent()).toContain('viewer');
    const ownerAddress = ownerWallet.address.toLowerCase();
    expect(await viewerRow.textContent()).toContain(`${ownerAddress.slice(0, 6)}…${ownerAddress.slice(-4)}`);
    expect(await page.evaluate<string>('document.activeElement.id')).toBe('member-address');
    expect(await page.getByLabel('Wallet address').inputValue()).toBe('');

    // The same wallet twice: the API's refusal is said in the section's alert.
    await page.getByLabel('Wallet address').fill(viewerWallet.address);
    await page.click('#member-submit');
    await expect.poll(() => page.textContent('#member-error')).toContain('already a member of this organization (viewer)');
    await page.getByLabel('Wallet address').fill('');
    expect(await page.textContent('#member-error')).toBe('');
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-members-1280.png`, fullPage: true });
    await expectNoHorizontalOverflow(page, 'dashboard-members');

    // The viewer, in a second browser with their own wallet, reads the list and has no control.
    const viewer = await signedInWithWallet(viewerWallet);
    await expect.poll(() => viewer.page.textContent('#members')).toContain('(you)');
    expect(await viewer.page.textContent('#members')).toContain(ownerWallet.address.toLowerCase());
    expect(await viewer.page.locator('#members-section button:visible').count()).toBe(0);
    expect(await viewer.page.locator('#members th', { hasText: 'Actions' }).count()).toBe(0);
    expect(await viewer.page.isVisible('#member-form')).toBe(false);
    expect(await viewer.page.isVisible('#alert-form')).toBe(false);
    expect(await viewer.page.textContent('#alert-state')).toBe('No low-balance alert is set.');
    await viewer.page.screenshot({ path: `${ARTIFACTS}/dashboard-members-viewer-1280.png`, fullPage: true });
    expect(viewer.refused).toEqual([]);
    expect(viewer.errors).toEqual([]);

    // Removing asks first; declined, the row stays; accepted, it goes and the focus moves to the form.
    await page.setViewportSize({ width: 1280, height: 900 });
    page.once('dialog', (dialog) => dialog.dismiss());
    await page.getByRole('button', { name: `Remove member ${viewerAddress}` }).click();
    expect(await viewerRow.count()).toBe(1);
    page.once('dialog', (dialog) => {
      expect(dialog.message()).toContain(viewerAddress);
      return dialog.accept();
    });
    await page.getByRole('button', { name: `Remove member ${viewerAddress}` }).click();
    await expect.poll(() => viewerRow.count()).toBe(0);
    expect(await page.evaluate<string>('document.activeElement.id')).toBe('member-address');
    expect(await page.textContent('#member-error')).toBe('');

    expect(owner.refused).toEqual([]);
    expect(owner.errors).toEqual([]);
  }, 90_000);

  it('an owner sets a low-balance alert, sees its secret once, reads it back after a reload and removes it', async () => {
    const wallet = newWallet();
    await signIn(gateway, wallet);
    const { page, errors, refused } = await signedInWithWallet(wallet);
    await expect.poll(() => page.textContent('#alert-state')).toBe('No low-balance alert is set.');
    expect(await page.isVisible('#alert-remove')).toBe(false);

    // Finer than a micro-USDC is explained, not rounded.
    await page.getByLabel('Threshold in USDC').fill('0.0000001');
    await page.getByLabel('Threshold in USDC').press('Enter');
    await expect.poll(() => page.textContent('#alert-error')).toContain('at most 6 decimals');

    await page.getByLabel('Threshold in USDC').fill('2.5');
    await page.getByLabel('Webhook URL (optional)').fill('https://hooks.example.com/low-balance');
    await page.getByLabel('Webhook URL (optional)').press('Enter');
    await page.waitForSelector('#alert-secret:not([hidden])');
    expect(await page.textContent('#alert-error')).toBe('');
    const secret = (await page.textContent('#alert-secret-value')) ?? '';
    expect(secret.length).toBeGreaterThan(10);
    expect(await page.evaluate<string>('document.activeElement.id')).toBe('copy-secret');
    await page.click('#copy-secret');
    await expect.poll(() => page.textContent('#copy-secret-done')).toBe('Copied.');
    expect(await page.evaluate<string>('navigator.clipboard.readText()')).toBe(secret);
    const state = await page.textContent('#alert-state');
    expect(state).toContain('2.50 USDC');
    expect(state).toContain('https://hooks.example.com/low-balance');
    // The balance (none) is under it at once, said in the balance section without a reload.
    expect(await page.textContent('#low-balance')).toBe('Below your low-balance threshold of 2.50 USDC');
    expect(await page.isVisible('#alert-remove')).toBe(true);
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-alert-1280.png`, fullPage: true });

    // Read back after a reload: the settings, never the secret again.
    await page.reload();
    await page.waitForSelector('#app:not([hidden])');
    await expect.poll(() => page.textContent('#alert-state')).toContain('2.50 USDC');
    expect(await page.isVisible('#alert-secret')).toBe(false);
    expect(await page.content()).not.toContain(secret);
    expect(await page.getByLabel('Threshold in USDC').inputValue()).toBe('2.50');
    await expectNoHorizontalOverflow(page, 'dashboard-alert');

    page.once('dialog', (dialog) => dialog.accept());
    await page.click('#alert-remove');
    await expect.poll(() => page.textContent('#alert-state')).toBe('No low-balance alert is set.');
    expect(await page.isVisible('#alert-remove')).toBe(false);
    expect(await page.evaluate<string>('document.activeElement.id')).toBe('alert-threshold');
    expect(await page.textContent('#low-balance')).toBe('');
    expect(refused).toEqual([]);
    expect(errors).toEqual([]);
  }, 90_000);
});
