import { afterAll, beforeAll, beforeEach } from 'vitest';
import { seedDemoData } from '../../src/db/demo-data.js';
import { type FakeLlm, startFakeLlm } from './fake-llm.js';
import { startTestGateway, type TestGateway } from './gateway.js';

/** What a suite with an LLM has; the fields are set once its hooks have run. */
export interface LlmSuite {
  llm: FakeLlm;
  gateway: TestGateway;
  /** http://127.0.0.1:<port>, when the suite asked to listen */
  baseUrl: string;
  /** this test's organization and its API key */
  key: string;
  orgId: string;
  /** the id of that organization's key */
  keyId: string;
}

/**
 * Registers the hooks of a suite that needs an LLM: a fake chat-completions server, a gateway using
 * it on a fresh database with a few demo agents, and before each test a new organization holding
 * `credits`, with the LLM's request log cleared and its answers back to reports.
 */
export function useLlmGateway(options: {
  credits: bigint;
  llmTimeoutMs: number;
  leaseMs?: number;
  dataset: { agents: number; feedbacksPerAgent: number; validationsPerAgent: number };
  listen?: boolean;
}): LlmSuite {
  const suite = {} as LlmSuite;
  beforeAll(async () => {
    suite.llm = await startFakeLlm();
    suite.gateway = await startTestGateway({
      llm: { baseUrl: suite.llm.baseUrl, timeoutMs: options.llmTimeoutMs },
      ...(options.leaseMs === undefined ? {} : { leaseMs: options.leaseMs }),
    });
    await seedDemoData(suite.gateway.database.db, { now: new Date(), ...options.dataset });
    if (options.listen) suite.baseUrl = await suite.gateway.listen();
  });
  afterAll(async () => {
    await suite.gateway?.close();
    await suite.llm?.close();
  });
  beforeEach(async () => {
    const org = await suite.gateway.createOrg({ credits: options.credits });
    suite.key = org.apiKey.key;
    suite.orgId = org.orgId;
    suite.keyId = org.apiKey.id;
    suite.llm.requests.length = 0;
    suite.llm.otherwise = 'report';
  });
  return suite;
}
