import type { Browser, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { a2aMethods } from '../../src/a2a/methods.js';
import { ARTIFACTS, useBrowserSite } from '../helpers/browser.js';
import type { TestGateway } from '../helpers/gateway.js';
import { needs } from '../helpers/requirements.js';

describe('the API reference in headless Chromium', needs('chromium'), () => {
  let gateway: TestGateway;
  let baseUrl: string;
  let browser: Browser;

  useBrowserSite((site) => ({ gateway, baseUrl, browser } = site));

  async function open(width: number): Promise<{ page: Page; errors: string[] }> {
    const page = await browser.newPage({ viewport: { width, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${baseUrl}/reference`);
    await page.waitForSelector('#operations > details');
    return { page, errors };
  }

  /** The statuses a route's Errors list shows. */
  const errorStatuses = (page: Page, id: string) =>
    page.locator(`#${id} .errors li`).evaluateAll((items) => items.map((item) => item.getAttribute('data-status')));

  it('masks the key field, lists only each route’s own errors, and documents /a2a and /mcp', async () => {
    const { page, errors } = await open(1280);
    expect(await page.getAttribute('#token', 'type')).toBe('password');
    expect(await page.locator('label[for="token"]').textContent()).toContain('API key');

    await page.locator('#get--v1-tools summary').click();
    // its own 400, and the 503 every route may answer while the database is unavailable
    expect(await errorStatuses(page, 'get--v1-tools')).toEqual(['400', '503']);
    const call = page.locator('#post--v1-tools-name-call');
    await call.locator('summary').click();
    const callErrors = await errorStatuses(page, 'post--v1-tools-name-call');
    expect(callErrors).toContain('402');
    expect(callErrors).toContain('401');
    expect(await call.locator('.errors li[data-status="402"]').textContent()).toContain('payment_required');
    expect(await call.locator('.errors li[data-status="404"]').textContent()).toContain('unknown_tool');

    const a2a = await page.locator('#a2a li.rpc').evaluateAll((items) => items.map((item) => item.getAttribute('data-method')));
    expect(a2a.sort()).toEqual(Object.keys(a2aMethods).sort());
    expect(await page.locator('#a2a-methods-10').textContent()).toContain('SendMessage');
    expect(await page.locator('#a2a-methods-03').textContent()).toContain('tasks/get');
    expect(await page.locator('#a2a-errors').textContent()).toContain('-32004');
    const mcp = await page.locator('#mcp-methods li.rpc').evaluateAll((items) => items.map((item) => item.getAttribute('data-method')));
    expect(mcp).toEqual(expect.arrayContaining(['tools/list', 'tools/call', 'resources/list', 'resources/read']));

    await page.screenshot({ path: `${ARTIFACTS}/reference-desktop.png`, fullPage: true });
    await page.evaluate('window.scrollTo(0, 0)');
    await page.screenshot({ path: `${ARTIFACTS}/reference-desktop-top.png` });
    await call.screenshot({ path: `${ARTIFACTS}/reference-desktop-call.png` });
    await page.locator('#a2a').screenshot({ path: `${ARTIFACTS}/reference-desktop-a2a.png` });
    await page.locator('#mcp').screenshot({ path: `${ARTIFACTS}/reference-desktop-mcp.png` });
    expect(errors).toEqual([]);
  }, 60_000);

  it('uses the dashboard sign-in without showing it or keeping it in plain text, and shows a typed key only when asked', async () => {
    const org = await gateway.createOrg({ credits: 1_500_000n });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${baseUrl}/dashboard`);
    await page.fill('#apikey', org.apiKey.key);
    await page.click('#use-key');
    await page.waitForSelector('#app:not([hidden])');
    await expect.poll(() => page.evaluate<number>('sessionStorage.length')).toBeGreaterThan(0);

    // The dashboard, reloaded, still signs in from what it kept.
    await page.reload();
    await page.waitForSelector('#app:not([hidden])');

    await page.goto(`${baseUrl}/reference`);
    await page.waitForSelector('#operations > details');
    await page.waitForSelector('#credential-note:not([hidden])');
    // what this origin keeps, read in the page (the tests are type-checked without the DOM's types)
    const stored = await page.evaluate<string>(
      "[sessionStorage, localStorage].flatMap((s) => Object.keys(s).map((name) => name + '=' + s.getItem(name))).join(' ')",
    );
    expect(stored).not.toContain(org.apiKey.key);
    expect(page.url()).not.toContain(org.apiKey.key);
    expect(await page.inputValue('#token')).toBe('');
    expect(await page.evaluate<string>('document.body.textContent')).not.toContain(org.apiKey.key);

    const balance = page.locator('#get--v1-balance');
    await balance.locator('summary').click();
    await balance.locator('button.send').click();
    await expect.poll(() => balance.locator('.response').textContent()).toContain('"availableDisplay": "1.50 USDC"');
    expect(await balance.locator('.curl').textContent()).toContain('$KEY');
    expect(await page.evaluate<string>('document.body.textContent')).not.toContain(org.apiKey.key);

    // Set aside, the dashboard's sign-in is no longer sent.
    await page.click('#forget-dashboard');
    await balance.locator('button.send').click();
    await expect.poll(() => balance.locator('.result').textContent()).toContain('HTTP 401');

    // A typed key is masked until Show is pressed.
    await page.fill('#token', org.apiKey.key);
    expect(await page.evaluate<string>('document.body.textContent')).not.toContain(org.apiKey.key);
    await page.click('#show-token');
    expect(await page.getAttribute('#token', 'type')).toBe('text');
    expect(await page.getAttribute('#show-token', 'aria-pressed')).toBe('true');
    await page.click('#show-token');
    expect(await page.getAttribute('#token', 'type')).toBe('password');
    await page.screenshot({ path: `${ARTIFACTS}/reference-dashboard-sign-in.png` });
    expect(errors).toEqual([]);
  }, 60_000);

  it('is operable from the keyboard, and every control has a name', async () => {
    const { page, errors } = await open(1280);
    const unnamed = await page.locator('input, textarea, button, select').evaluateAll((controls) =>
      controls
        .filter((control) => {
          const labelled =
            (control as unknown as { labels: { length: number } | null }).labels?.length || control.getAttribute('aria-label');
          return !labelled && !(control.tagName === 'BUTTON' && control.textContent?.trim());
        })
        .map((control) => control.outerHTML),
    );
    expect(unnamed).toEqual([]);

    // Tab to the key field, then on to a route, open it with Enter and send it with Enter.
    await page.keyboard.press('Tab');
    expect(await page.evaluate<string | undefined>('document.activeElement?.id')).toBe('token');
    await page.locator('#get--v1-config summary').focus();
    await page.keyboard.press('Enter');
    expect(await page.locator('#get--v1-config').getAttribute('open')).not.toBeNull();
    // GET /v1/config takes no parameter: the next stop is its Send button
    await page.keyboard.press('Tab');
    expect(await page.evaluate<string | null | undefined>("document.activeElement?.getAttribute('aria-label')")).toBe(
      'Send GET /v1/config',
    );
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('#get--v1-config .result').textContent()).toContain('HTTP 200');
    expect(errors).toEqual([]);
  }, 60_000);

  it('fits a 390 px phone: nothing overflows horizontally', async () => {
    const { page, errors } = await open(390);
    for (const id of ['post--v1-tools-name-call', 'get--v1-ledger', 'post--v1-keys']) await page.locator(`#${id} summary`).click();
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await page.screenshot({ path: `${ARTIFACTS}/reference-phone.png`, fullPage: true });
    await page.evaluate('window.scrollTo(0, 0)');
    await page.screenshot({ path: `${ARTIFACTS}/reference-phone-top.png` });
    await page.locator('#post--v1-tools-name-call').screenshot({ path: `${ARTIFACTS}/reference-phone-call.png` });
    await page.locator('#mcp').screenshot({ path: `${ARTIFACTS}/reference-phone-mcp.png` });
    await page.locator('#a2a').scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${ARTIFACTS}/reference-phone-a2a.png` });
    expect(errors).toEqual([]);
  }, 60_000);
});
