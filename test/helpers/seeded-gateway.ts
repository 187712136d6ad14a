import { afterAll, beforeAll } from 'vitest';
import type { NewOrganization } from '../../src/auth/organizations.js';
import { type DemoDataOptions, seedDemoData } from '../../src/db/demo-data.js';
import { checkLedgerAfterEach, startTestGateway, type TestGateway, type TestGatewayOptions } from './gateway.js';

export interface SeededGatewayOptions {
  /** how the gateway starts (settlement, timeouts, …); a function is read when the suite starts, after the hooks registered before it (a local chain's) */
  gateway?: TestGatewayOptions | (() => TestGatewayOptions);
  /** the demo agents, feedbacks and validations seeded (the demo's counts when left out); false for none */
  demoData?: Omit<DemoDataOptions, 'now'> | false;
  /** the suite's organization, with its credits and an API key, made once the data is seeded */
  org?: { name?: string; credits: bigint };
  /** listen on a loopback port, for the tests that need a real socket */
  listen?: boolean;
  /** the ledger check after each test; `idle: false` where a test may end with a hold still in flight */
  ledger?: { idle?: boolean };
}

/** What a suite with a seeded gateway has; the fields are set once its beforeAll has run. */
export interface SeededGateway {
  gateway: TestGateway;
  /** http://127.0.0.1:<port>, when the suite asked to listen */
  baseUrl: string;
}

export interface SeededGatewayWithOrg extends SeededGateway {
  org: NewOrganization;
  /** the organization's API key */
  key: string;
}

/**
 * Registers the hooks most suites start with: a gateway on a fresh database seeded with demo data
 * (and, if asked, an organization holding credits), closed after the suite, and the ledger
 * invariant checked after every test (`checkLedgerAfterEach`). Call it at the top of a file or of
 * a describe block; read the fields inside tests and later hooks.
 */
export function useSeededGateway(options: SeededGatewayOptions & { org: { name?: string; credits: bigint } }): SeededGatewayWithOrg;
export function useSeededGateway(options?: SeededGatewayOptions): SeededGateway;
export function useSeededGateway(options: SeededGatewayOptions = {}): SeededGateway | SeededGatewayWithOrg {
  const suite = { baseUrl: '' } as SeededGatewayWithOrg;
  beforeAll(async () => {
    suite.gateway = await startTestGateway(typeof options.gateway === 'function' ? options.gateway() : options.gateway);
    if (options.demoData !== false) await seedDemoData(suite.gateway.database.db, { now: new Date(), ...options.demoData });
    if (options.org) {
      suite.org = await suite.gateway.createOrg(options.org);
      suite.key = suite.org.apiKey.key;
    }
    if (options.listen) suite.baseUrl = await suite.gateway.listen();
  });
  afterAll(async () => {
    await suite.gateway?.close();
  });
  checkLedgerAfterEach(() => [suite.gateway], options.ledger);
  return suite;
}
