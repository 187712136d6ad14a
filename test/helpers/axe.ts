import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AxeResults, Result } from 'axe-core';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';

/** axe-core's browser build, read once: injected into each page as it is, no CDN. */
const AXE_SCRIPT = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** The WCAG 2.0 and 2.1 level A and AA rules: what issue 22 asks the pages to pass. */
const WCAG_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

/** The impacts a page may not have: each is a barrier for someone (an unlabelled control, unreadable text). */
const BLOCKING = new Set(['serious', 'critical']);

/** axe run over the whole document as it is now (every section shown, whoever added it), its WCAG A/AA violations. */
export async function axeViolations(page: Page): Promise<Result[]> {
  if (!(await page.evaluate('typeof window.axe === "object"'))) await page.addScriptTag({ content: AXE_SCRIPT });
  const results = await page.evaluate<AxeResults, string[]>(
    (tags) =>
      (globalThis as unknown as { axe: { run(options: object): Promise<AxeResults> } }).axe.run({
        runOnly: { type: 'tag', values: tags },
        resultTypes: ['violations'],
      }),
    WCAG_AA,
  );
  return results.violations;
}

/** One line per violation and per node it names: which rule, what it asks, where. */
export function describeViolations(violations: Result[]): string {
  return violations
    .map((violation) =>
      [
        `${violation.impact ?? 'unknown'} ${violation.id}: ${violation.help}`,
        ...violation.nodes.map((node) => `    ${node.target.join(' ')}  ${node.failureSummary?.replaceAll('\n', ' ') ?? ''}`),
      ].join('\n'),
    )
    .join('\n');
}

/** Fails, naming each rule and each element, if axe finds a serious or critical WCAG A/AA violation in the page as it is now. */
export async function expectAccessible(page: Page, state: string): Promise<void> {
  const blocking = (await axeViolations(page)).filter((violation) => BLOCKING.has(violation.impact ?? ''));
  expect(blocking.length, `${state}: axe's serious and critical WCAG A/AA violations:\n${describeViolations(blocking)}\n`).toBe(0);
}
