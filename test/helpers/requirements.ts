import { existsSync } from 'node:fs';

/** What some suites need from the machine, and the one-line reason printed when a run lacks it. */
export const REQUIREMENTS = {
  postgres: { met: Boolean(process.env.DATABASE_URL), missing: 'no DATABASE_URL (PostgreSQL-only suites)' },
  chromium: { met: existsSync('/usr/bin/chromium'), missing: 'no Chromium at /usr/bin/chromium' },
  pgbouncer: {
    met: Boolean(process.env.DATABASE_URL) && existsSync('/usr/sbin/pgbouncer'),
    missing: "no DATABASE_URL, or no PgBouncer at /usr/sbin/pgbouncer (Debian's pgbouncer package; .ci/pgbouncer installs it)",
  },
  promtool: { met: existsSync('/usr/bin/promtool'), missing: "no promtool at /usr/bin/promtool (Debian's prometheus package)" },
} as const;

export type Requirement = keyof typeof REQUIREMENTS;

declare module '@vitest/runner' {
  interface TaskMeta {
    /** the suite or test is skipped when this is missing (see test/helpers/skip-report.ts) */
    needs?: Requirement;
  }
}

/**
 * The options of a suite or test that runs only where `requirement` is met: skipped otherwise, with
 * the requirement kept on the skipped tests so the run says what it did not test, and CI can tell
 * an allowed skip from a forbidden one (.ci/run).
 */
export function needs(requirement: Requirement): { skip: boolean; meta: { needs: Requirement } } {
  return { skip: !REQUIREMENTS[requirement].met, meta: { needs: requirement } };
}
