import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // the second prints one line naming the suites this run skipped and why (no DATABASE_URL, no Chromium)
    reporters: ['default', './test/helpers/skip-report.ts'],
  },
});
