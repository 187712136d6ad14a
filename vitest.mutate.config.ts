import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * The suites `npm run mutate` runs against each mutant: those that move money through the mutated
 * files (stryker.config.json) on a real database, in this process (suites that start the built
 * gateway as a child process run dist/, which no mutant reaches). Kept to these so a mutant costs
 * seconds, not the whole suite.
 */
export const MUTATION_SUITES = [
  'test/a2a/protocol/*.test.ts',
  'test/billing/concurrency.test.ts',
  'test/billing/money-promises.test.ts',
  'test/billing/topups.test.ts',
  'test/billing/usage-rollup.test.ts',
  'test/billing/usage-rollup-margin.test.ts',
  'test/billing/read-plans.test.ts',
  'test/http/billing-api.test.ts',
  'test/http/low-balance.test.ts',
  'test/http/low-balance-delivery.test.ts',
  'test/tasks/failures.test.ts',
  'test/tasks/long-running.test.ts',
  'test/tasks/recovery.test.ts',
  'test/robustness/cross-tenant.test.ts',
  'test/auth/members-and-keys.test.ts',
];

// Not mergeConfig: it concatenates arrays, and `include` would keep the base's `test/**/*.test.ts`.
export default defineConfig({ ...base, test: { ...base.test, include: MUTATION_SUITES } });
