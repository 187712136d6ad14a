import { sql } from 'drizzle-orm';
import { OPERATOR } from '../src/audit/record.js';
import { createApiKey } from '../src/auth/api-keys.js';
import { createOrganization } from '../src/auth/organizations.js';
import { openDatabase } from '../src/db/client.js';
import { type DemoDataCounts, seedDemoData } from '../src/db/demo-data.js';
import { updateKeyPolicy } from '../src/policies/store.js';
import type { DatasetSize } from './options.js';

/** One USDC per org would run dry in seconds at Tier 1 prices; a million never will. */
const CREDITS_PER_ORG = 1_000_000n * 1_000_000n;

export interface BenchOrganization {
  orgId: string;
  apiKey: string;
  /** the id of `apiKey` (the floor's tasks name it as the gateway's name the key that made the call) */
  apiKeyId: string;
  /** a second key carrying every policy, with bounds no scenario reaches (the governed scenario's) */
  governedApiKey: string;
}

/** Bounds the governed keys carry: every tool, every tier, a cap and a rate far above what a run spends or sends. */
const GOVERNED_POLICY = {
  tools: ['getAgentProfile', 'getMyFeedbacks', 'getReputationSummary', 'getTrend', 'getValidationHistory'],
  maxTier: 3,
  spendCap: { amountMicroUsdc: 10n ** 15n, period: 'day' as const },
  rateLimit: { requests: 1_000_000, windowSeconds: 60 },
};

export interface SeededData {
  counts: DemoDataCounts & { organizations: number };
  organizations: BenchOrganization[];
  seedSeconds: number;
}

/** Migrates the bench database and fills it through the project's own code: ERC-8004 data, then funded orgs. */
export async function seedBenchData(url: string, size: DatasetSize, now: Date): Promise<SeededData> {
  const started = performance.now();
  const db = await openDatabase({ url, poolSize: 2 });
  try {
    await db.migrate();
    const counts = await seedDemoData(db, {
      now,
      agents: size.agents,
      feedbacksPerAgent: size.feedbacksPerAgent,
      validationsPerAgent: size.validationsPerAgent,
    });
    const organizations: BenchOrganization[] = [];
    for (let n = 1; n <= size.organizations; n++) {
      const org = await createOrganization(db, { name: `bench org ${n}`, credits: CREDITS_PER_ORG, by: OPERATOR });
      const governed = await db.transaction(async (tx) => {
        const key = await createApiKey(tx, { orgId: org.orgId, name: 'governed', by: OPERATOR });
        await updateKeyPolicy(tx, { keyId: key.id, patch: GOVERNED_POLICY, by: OPERATOR });
        return key;
      });
      organizations.push({ orgId: org.orgId, apiKey: org.apiKey.key, apiKeyId: org.apiKey.id, governedApiKey: governed.key });
    }
    // In service, autovacuum has long since vacuumed and analyzed the ERC-8004 tables; freshly bulk-loaded
    // they have no statistics and no visibility map. Tasks and ledger start empty and are left to
    // autovacuum as they grow: statistics taken while empty would plan them as empty.
    await db.run(sql`vacuum analyze agents, feedbacks, validations`);
    // Writes the bulk load's dirty pages now, not in a checkpoint in the middle of a measured scenario.
    await db.run(sql`checkpoint`);
    return {
      counts: { ...counts, organizations: organizations.length },
      organizations,
      seedSeconds: (performance.now() - started) / 1000,
    };
  } finally {
    await db.close();
  }
}
