import { readFileSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import type { LocalAccount } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { OPERATOR } from '../../src/audit/record.js';
import { grantCredits } from '../../src/billing/accounts.js';
import { ARTIFACTS, signedInWithWallet as signInInPage, useBrowserSite } from '../helpers/browser.js';
import type { TestGateway } from '../helpers/gateway.js';
import { needs } from '../helpers/requirements.js';
import { rest, signIn } from '../helpers/sign-in.js';

const newWallet = () => privateKeyToAccount(generatePrivateKey());

interface AuditEvent {
  id: string;
  action: string;
}

describe('the dashboard reads the audit trail (admins and owners) and when each key was last used', needs('chromium'), () => {
  let gateway: TestGateway;
  let baseUrl: string;
  let browser: Browser;
  useBrowserSite((site) => ({ gateway, baseUrl, browser } = site));

  const signedInWithWallet = (wallet: LocalAccount, width = 1280) => signInInPage(browser, baseUrl, wallet, width);

  it('an owner sees key changes as sentences, filters them by action and day, pages back, downloads them as CSV, and sees a key used', async () => {
    const wallet = newWallet();
    const owner = await signIn(gateway, wallet);
    await grantCredits(gateway.database.db, { orgId: owner.orgId, amount: 1_000_000n, reason: 'test', by: OPERATOR });
    const { page, errors, refused, requested } = await signedInWithWallet(wallet);
    await page.waitForSelector('#audit-section:not([hidden])');
    // the sign-in that made the organization is its first event
    await expect.poll(() => page.textContent('#audit')).toContain('org.create');

    // A key made in the page with a cap, then its cap removed in the page.
    await page.click('#key-new');
    await page.fill('#key-name', 'audited agent');
    await page.getByLabel('Spend cap in USDC').fill('5');
    await page.click('#key-submit');
    await page.waitForSelector('#new-key:not([hidden])');
    const key = (await page.textContent('#new-key-value')) ?? '';
    const keyRow = page.locator('#keys tr', { hasText: 'audited agent' });
    await expect.poll(() => keyRow.textContent()).toContain('cap 5.00 USDC per day');
    await page.getByRole('button', { name: 'Edit policy of key audited agent' }).click();
    await page.getByLabel('Spend cap in USDC').fill('');
    await page.click('#key-submit');
    await expect.poll(() => keyRow.textContent()).not.toContain('cap 5.00 USDC per day');
    expect(await keyRow.locator('td[data-label="Last used"]').textContent()).toBe('never');

    await page.click('#audit-apply');
    const rows = page.locator('#audit tr');
    await expect.poll(() => rows.count()).toBe(6); // headers, org.create, credits.grant, key.create, key.policy.set twice
    expect(await rows.filter({ hasText: 'credits.grant' }).locator('td[data-label="Change"]').textContent()).toBe(
      'granted 1.00 USDC (test): balance 0.00 USDC → 1.00 USDC',
    );
    expect(await rows.filter({ hasText: 'credits.grant' }).locator('td[data-label="Who"]').textContent()).toBe('operator');
    const created = rows.filter({ hasText: 'key.create' });
    expect(await created.locator('td[data-label="Who"]').textContent()).toBe(
      `${owner.address.slice(0, 6)}…${owner.address.slice(-4)} (you)`,
    );
    expect(await created.locator('td[data-label="Target"]').textContent()).toBe(`key audited agent (${key.slice(0, 12)}…)`);
    expect(await created.locator('td[data-label="Change"]').textContent()).toBe('created, never expires');
    const changes = await rows.filter({ hasText: 'key.policy.set' }).locator('td[data-label="Change"]').allTextContents();
    // newest first: the cap removed, then the cap set by the creation
    expect(changes).toEqual(['policy: cap 5.00 USDC per day → none', 'policy: cap none → 5.00 USDC per day']);
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-audit-1280.png`, fullPage: true });

    // Filtered by keyboard alone: tick key.policy.set, then Enter on the button.
    await page.focus('#audit-actions input[value="key.policy.set"]');
    await page.keyboard.press('Space');
    await page.focus('#audit-apply');
    await page.keyboard.press('Enter');
    await expect.poll(() => rows.count()).toBe(3);
    expect(await rows.filter({ hasText: 'key.create' }).count()).toBe(0);

    // The CSV of that filter holds the same two events, saved as a file.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#audit-csv')]);
    expect(download.suggestedFilename()).toBe('audit.csv');
    const csvPath = `${ARTIFACTS}/dashboard-audit.csv`;
    await download.saveAs(csvPath);
    const [header, ...lines] = readFileSync(csvPath, 'utf8').trim().split(/\r?\n/);
    expect(header).toBe('id,created_at,actor_kind,actor,action,target_kind,target_id,before,after,request_id');
    const listed = (await (await rest(gateway, 'GET', '/v1/audit?action=key.policy.set', undefined, owner.token)).json()) as {
      events: AuditEvent[];
    };
    expect(lines.map((line) => line.split(',')[0])).toEqual(listed.events.map((event) => event.id));
    expect(lines.every((line) => line.split(',')[4] === 'key.policy.set')).toBe(true);

    // More changes than a page: "Older" reads the rest under the same filter.
    const keyId = ((await (await rest(gateway, 'GET', '/v1/keys', undefined, owner.token)).json()) as { keys: { id: string }[] }).keys[0]!
      .id;
    for (let requests = 1; requests <= 20; requests++) {
      const changed = await rest(gateway, 'PATCH', `/v1/keys/${keyId}`, { rateLimit: { requests, windowSeconds: 60 } }, owner.token);
      expect(changed.status).toBe(200);
    }
    await page.click('#audit-apply');
    await expect.poll(() => rows.count()).toBe(21);
    expect(await rows.nth(1).locator('td[data-label="Change"]').textContent()).toBe(
      'policy: rate limit 19 calls per 60 s → 20 calls per 60 s',
    );
    await page.click('#audit-more');
    await expect.poll(() => rows.count()).toBe(23);
    expect(await page.isVisible('#audit-more')).toBe(false);

    // Days: from tomorrow nothing matches; a From after the To is said, not asked.
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const today = new Date().toISOString().slice(0, 10);
    await page.getByLabel('From (UTC day, optional)').fill(tomorrow);
    await page.click('#audit-apply');
    await expect.poll(() => page.textContent('#audit')).toBe('No events match these filters.');
    await page.getByLabel('To (UTC day, included, optional)').fill(today);
    const asked = requested.length;
    await page.click('#audit-apply');
    await expect.poll(() => page.textContent('#audit-error')).toBe('the From day must not be after the To day');
    expect(requested.length).toBe(asked);
    await page.getByLabel('From (UTC day, optional)').fill(today);
    await page.click('#audit-apply');
    await expect.poll(() => rows.count()).toBe(21);
    expect(await page.textContent('#audit-error')).toBe('');

    // A paid call with the key: the keys list says when (read again at the reload).
    const paid = await fetch(`${baseUrl}/v1/tools/getAgentProfile/call`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ agentId: 1 }),
    });
    expect(paid.status).toBe(200);
    await page.reload();
    await page.waitForSelector('#app:not([hidden])');
    const lastUsed = page.locator('#keys tr', { hasText: 'audited agent' }).locator('td[data-label="Last used"]');
    await expect.poll(() => lastUsed.textContent()).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-audit-last-used-1280.png`, fullPage: true });

    await page.setViewportSize({ width: 390, height: 900 });
    await expect.poll(() => page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-audit-390.png`, fullPage: true });
    await page.locator('#audit-section').screenshot({ path: `${ARTIFACTS}/dashboard-audit-section-390.png` });
    expect(refused).toEqual([]);
    expect(errors).toEqual([]);
  }, 120_000);

  it('a viewer sees no audit trail and its page never asks for one', async () => {
    const owner = await signIn(gateway, newWallet());
    const viewerWallet = newWallet();
    expect((await rest(gateway, 'POST', '/v1/members', { address: viewerWallet.address, role: 'viewer' }, owner.token)).status).toBe(201);
    const { page, errors, refused, requested } = await signedInWithWallet(viewerWallet);
    await expect.poll(() => page.textContent('#members')).toContain('viewer');
    expect(await page.isVisible('#audit-section')).toBe(false);
    expect(requested).toContain('GET /v1/keys');
    expect(requested.filter((request) => request.includes('/v1/audit'))).toEqual([]);
    expect(refused).toEqual([]);
    expect(errors).toEqual([]);
  }, 60_000);
});
