import type { Browser, Page } from 'playwright-core';
import type { LocalAccount } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { OPERATOR } from '../../src/audit/record.js';
import { grantCredits } from '../../src/billing/accounts.js';
import { ARTIFACTS, signedInWithWallet as signInInPage, useBrowserSite, visit as visitPage } from '../helpers/browser.js';
import type { TestGateway } from '../helpers/gateway.js';
import { needs } from '../helpers/requirements.js';
import { rest, signIn } from '../helpers/sign-in.js';

const newWallet = () => privateKeyToAccount(generatePrivateKey());

describe('the dashboard runs an organization: keys with policies, its name, and only what the credential may', needs('chromium'), () => {
  let gateway: TestGateway;
  let baseUrl: string;
  let browser: Browser;
  useBrowserSite((site) => ({ gateway, baseUrl, browser } = site));

  const visit = (width: number) => visitPage(browser, baseUrl, width);
  const signedInWithWallet = (wallet: LocalAccount, width = 1280) => signInInPage(browser, baseUrl, wallet, width);

  const callTool = (key: string, tool: string, args: unknown) =>
    fetch(`${baseUrl}/v1/tools/${tool}/call`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify(args),
    });

  async function expectNoHorizontalOverflow(page: Page, name: string) {
    await page.setViewportSize({ width: 390, height: 900 });
    await expect.poll(() => page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await page.screenshot({ path: `${ARTIFACTS}/${name}-390.png`, fullPage: true });
  }

  it('an owner renames the organization, creates a key with a tool scope and a spend cap, uses it, edits its policy and revokes it', async () => {
    const wallet = newWallet();
    const owner = await signIn(gateway, wallet);
    await grantCredits(gateway.database.db, { orgId: owner.orgId, amount: 2_000_000n, reason: 'test', by: OPERATOR });
    const { page, errors, refused } = await signedInWithWallet(wallet);

    // The organization's name is the header; its owner renames it from there.
    await expect.poll(() => page.textContent('#org-name')).toBe(`wallet ${owner.address.slice(0, 6)}…${owner.address.slice(-4)}`);
    // The sign-in ends by moving the focus to the name, once everything is loaded: wait for it, or
    // it lands after the focus this test gives.
    await expect.poll(() => page.evaluate<string>('document.activeElement.id')).toBe('org-name');
    // By keyboard alone: the button opens the form with the focus in its labelled field, Enter saves.
    await page.focus('#rename');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.evaluate<string>('document.activeElement.id')).toBe('rename-input');
    expect(await page.getByLabel('Organization name').inputValue()).toBe(`wallet ${owner.address.slice(0, 6)}…${owner.address.slice(-4)}`);
    await page.keyboard.press('Control+A');
    await page.keyboard.type('Acme Research');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.textContent('#org-name')).toBe('Acme Research');
    expect(await page.isVisible('#rename-form')).toBe(false);
    expect(await page.title()).toContain('Acme Research');

    // A key allowed one tool, capped at 0.0015 USDC a day: one Tier 0 call (0.001 USDC) fits, a second does not.
    await page.click('#key-new');
    await page.fill('#key-name', 'research agent');
    await page.getByLabel('getAgentProfile', { exact: true }).check();
    await page.getByLabel('Spend cap in USDC').fill('0.0015');
    await page.getByLabel('Spend cap period').selectOption('day');
    await page.click('#key-submit');
    await page.waitForSelector('#new-key:not([hidden])');
    expect(await page.isVisible('#key-form')).toBe(false);
    const key = (await page.textContent('#new-key-value')) ?? '';
    expect(key).toMatch(/^apg_/);
    await page.click('#copy-key');
    await expect.poll(() => page.textContent('#copy-done')).toBe('Copied.');
    expect(await page.evaluate<string>('navigator.clipboard.readText()')).toBe(key);
    const row = page.locator('#keys tr', { hasText: 'research agent' });
    await expect.poll(() => row.textContent()).toContain('tools: getAgentProfile · cap 0.0015 USDC per day');
    expect(await row.textContent()).toContain(key.slice(0, 12));
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-keys-created.png`, fullPage: true });

    const paid = await callTool(key, 'getAgentProfile', { agentId: 1 });
    expect(paid.status, await paid.clone().text()).toBe(200);
    const overCap = await callTool(key, 'getAgentProfile', { agentId: 2 });
    expect(((await overCap.json()) as { error: { reason: string } }).error.reason).toBe('spend_cap_exceeded');
    const otherTool = await callTool(key, 'getReputationSummary', { agentId: 1 });
    expect(((await otherTool.json()) as { error: { reason: string } }).error.reason).toBe('tool_not_allowed');

    // Raising the cap in the page lets the key spend again; its list row shows the day's spend.
    await page.getByRole('button', { name: 'Edit policy of key research agent' }).click();
    expect(await page.getByLabel('Spend cap in USDC').inputValue()).toBe('0.0015');
    await page.getByLabel('Spend cap in USDC').fill('1');
    await page.click('#key-submit');
    await expect.poll(() => row.textContent()).toContain('cap 1.00 USDC per day');
    expect(await page.isVisible('#key-form')).toBe(false);
    expect(await page.isVisible('#new-key')).toBe(false);
    expect(await row.textContent()).toContain('0.001 USDC');
    expect((await callTool(key, 'getAgentProfile', { agentId: 2 })).status).toBe(200);

    // Revoking asks first; declined, nothing happens; accepted, the key is refused at once.
    page.once('dialog', (dialog) => dialog.dismiss());
    await page.getByRole('button', { name: 'Revoke of key research agent' }).click();
    expect((await callTool(key, 'getAgentProfile', { agentId: 3 })).status).toBe(200);
    page.once('dialog', (dialog) => {
      expect(dialog.message()).toContain('research agent');
      return dialog.accept();
    });
    await page.getByRole('button', { name: 'Revoke of key research agent' }).click();
    await expect.poll(() => row.textContent()).toContain('revoked');
    expect(await page.evaluate<string>('document.activeElement.id')).toBe('key-new');
    expect(await row.locator('button').count()).toBe(0);
    const refusedCall = await callTool(key, 'getAgentProfile', { agentId: 1 });
    expect(refusedCall.status).toBe(401);

    await page.screenshot({ path: `${ARTIFACTS}/dashboard-keys-1280.png`, fullPage: true });
    await expectNoHorizontalOverflow(page, 'dashboard-keys');
    expect(refused).toEqual([]);
    expect(errors).toEqual([]);
  }, 90_000);

  it('a viewer sees the keys and the name without any control to change them', async () => {
    const owner = await signIn(gateway, newWallet());
    await rest(gateway, 'POST', '/v1/keys', { name: 'ci pipeline', tools: ['getAgentProfile'], maxTier: 0 }, owner.token);
    const viewerWallet = newWallet();
    expect((await rest(gateway, 'POST', '/v1/members', { address: viewerWallet.address, role: 'viewer' }, owner.token)).status).toBe(201);
    const { page, errors, refused } = await signedInWithWallet(viewerWallet);
    await expect.poll(() => page.textContent('#keys')).toContain('ci pipeline');
    expect(await page.textContent('#keys')).toContain('tools: getAgentProfile · tier ≤ 0');
    expect(await page.textContent('#who')).toContain('(viewer)');
    expect(await page.locator('#keys button').count()).toBe(0);
    expect(await page.locator('#keys th', { hasText: 'Actions' }).count()).toBe(0);
    expect(await page.isVisible('#key-new')).toBe(false);
    expect(await page.isVisible('#rename')).toBe(false);
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-viewer-1280.png`, fullPage: true });
    await expectNoHorizontalOverflow(page, 'dashboard-viewer');
    expect(refused).toEqual([]);
    expect(errors).toEqual([]);
  }, 60_000);

  it('an admin manages keys but cannot rename the organization; a spend cap finer than a micro-USDC is explained in the form', async () => {
    const owner = await signIn(gateway, newWallet());
    const adminWallet = newWallet();
    expect((await rest(gateway, 'POST', '/v1/members', { address: adminWallet.address, role: 'admin' }, owner.token)).status).toBe(201);
    const { page, errors, refused } = await signedInWithWallet(adminWallet, 390);
    await expect.poll(() => page.textContent('#who')).toContain('(admin)');
    expect(await page.isVisible('#rename')).toBe(false);
    await expect.poll(() => page.isVisible('#key-new')).toBe(true);
    await page.click('#key-new');
    expect(await page.evaluate<string>('document.activeElement.id')).toBe('key-name');
    await page.fill('#key-name', 'phone key');
    await page.getByLabel('Spend cap in USDC').fill('0.0000001');
    await page.click('#key-submit');
    await expect.poll(() => page.textContent('#key-error')).toContain('at most 6 decimals');
    expect(await page.isVisible('#key-form')).toBe(true);
    await page.getByLabel('Spend cap in USDC').fill('2.5');
    await page.getByLabel('Highest tier').selectOption('1');
    await page.getByLabel('Rate limit, requests').fill('10');
    await page.click('#key-submit');
    await page.waitForSelector('#new-key:not([hidden])');
    await expect.poll(() => page.textContent('#keys')).toContain('every tool · tier ≤ 1 · cap 2.50 USDC per day · 10 calls per 60 s');
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-admin-key-created-390.png`, fullPage: true });
    await expectNoHorizontalOverflow(page, 'dashboard-admin');
    expect(refused).toEqual([]);
    expect(errors).toEqual([]);
  }, 60_000);

  it('an API-key sign-in asks nothing its key is refused: no session-only route, no 401 or 403', async () => {
    const org = await gateway.createOrg({ name: 'Key Only Ltd', credits: 1_000_000n });
    expect((await callTool(org.apiKey.key, 'getAgentProfile', { agentId: 1 })).status).toBe(200);
    const { page, errors, refused, requested } = await visit(1280);
    await page.goto(`${baseUrl}/dashboard`);
    await page.getByLabel('API key', { exact: true }).fill(org.apiKey.key);
    await page.click('#use-key');
    await page.waitForSelector('#app:not([hidden])');
    await expect.poll(() => page.textContent('#org-name')).toBe('Key Only Ltd');
    await expect.poll(() => page.textContent('#prices')).toContain('getAgentProfile');
    await expect.poll(() => page.textContent('#ledger')).toContain('getAgentProfile');
    expect(await page.textContent('#ledger')).toContain('-0.001 USDC');
    expect(await page.textContent('#tasks')).toContain('0.001 USDC');
    expect(await page.isVisible('#keys-section')).toBe(false);
    expect(await page.isVisible('#topups')).toBe(false);
    expect(await page.isVisible('#rename')).toBe(false);
    expect(requested.filter((call) => /\/v1\/(keys|topups|auth\/session|members|alerts|audit)/.test(call))).toEqual([]);
    expect(refused).toEqual([]);
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-api-key-1280.png`, fullPage: true });
    await expectNoHorizontalOverflow(page, 'dashboard-api-key');
    expect(errors).toEqual([]);
  }, 60_000);
});
