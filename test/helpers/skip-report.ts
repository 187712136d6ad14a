import type { Reporter, TestModule } from 'vitest/node';
import { REQUIREMENTS, type Requirement } from './requirements.js';

/**
 * After every run, ONE line naming the suites that were skipped and why (no DATABASE_URL, no
 * Chromium), so a local run says loudly what it did not test. A skipped test that names no
 * requirement (a stray `.skip`) is listed as unexplained.
 */
export default class SkipReport implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const skipped = new Map<string, Set<string>>();
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        if (test.result().state !== 'skipped') continue;
        const needs: Requirement | undefined = test.meta().needs;
        const why = needs ? REQUIREMENTS[needs].missing : 'unexplained skip';
        const files = skipped.get(why) ?? new Set<string>();
        files.add(module.relativeModuleId);
        skipped.set(why, files);
      }
    }
    if (skipped.size === 0) return;
    const parts = [...skipped].map(([why, files]) => `${why}: ${[...files].sort().join(', ')}`);
    process.stdout.write(`\nNOT TESTED in this run (skipped) — ${parts.join('; ')}\n`);
  }
}
