import { sql } from 'drizzle-orm';
import { createOrganization } from '../src/auth/organizations.js';
import { openDatabase } from '../src/db/client.js';
import { type DemoDataCounts, seedDemoData } from '../src/db/demo-data.js';
import type { DatasetSize } from './options.js';

/** One USDC per org would run dry in seconds at Tier 1 prices; a million never will. */
const CREDITS_PER_ORG = 1_000_000n * 1_000_000n;

export interface BenchOrganization {
  orgId: string;
  apiKey: string;
}

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
      const org = await createOrganization(db, { name: `bench org ${n}`, credits: CREDITS_PER_ORG });
      organizations.push({ orgId: org.orgId, apiKey: org.apiKey.key });
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
