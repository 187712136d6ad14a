import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentProfilesStatement } from '../../src/data/agents.js';
import { feedbackPagesStatement } from '../../src/data/feedbacks.js';
import { seedDemoData } from '../../src/db/demo-data.js';
import type { BoundStatement } from '../../src/db/statement.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { ExplainedRow, type PlanNode, planNodes } from '../helpers/plans.js';
import { needs } from '../helpers/requirements.js';

/**
 * The Tier 0 reads of a group of calls (issue 18) reach each agent through its index, never by
 * reading every feedback or agent, in the plan a gateway actually runs: prepared, with the generic
 * plan its connections are set to (db/client.ts), on tables analysed at a realistic shape.
 */
describe('grouped Tier 0 reads use indexes (PostgreSQL only)', needs('postgres'), () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
    await seedDemoData(database.db, { now: new Date(), agents: 400, feedbacksPerAgent: 40, validationsPerAgent: 1 });
    await database.db.run(sql`analyze agents`);
    await database.db.run(sql`analyze feedbacks`);
  });
  afterAll(() => database?.dispose());

  /** The generic plan of `statement` as a prepared statement, in one transaction (one connection). */
  const genericPlan = (statement: BoundStatement) =>
    database.db.transaction(async (tx) => {
      await tx.run(sql`set local plan_cache_mode = force_generic_plan`);
      await tx.run(sql.raw(`prepare grouped_read as ${statement.text}`));
      const values = statement.params.map((value) => `'${String(value).replaceAll("'", "''")}'`).join(', ');
      const [row] = await tx.rows(ExplainedRow, sql.raw(`explain (format json) execute grouped_read(${values})`));
      await tx.run(sql.raw('deallocate grouped_read'));
      return planNodes(row!['QUERY PLAN'][0].Plan);
    });

  const scansOf = (plan: PlanNode[], table: string) =>
    plan.filter((node) => node['Relation Name'] === table).map((node) => `${node['Node Type']} ${node['Index Name'] ?? ''}`.trim());

  it('feedback pages: every read of feedbacks goes through its agent index', async () => {
    const pages = Array.from({ length: 50 }, (_, n) => ({
      agentId: BigInt(1 + n * 7),
      limit: 10,
      offset: n % 3,
      includeRevoked: n % 2 === 0,
    }));
    const plan = await genericPlan(feedbackPagesStatement(pages));
    const onFeedbacks = scansOf(plan, 'feedbacks');
    expect(onFeedbacks.length).toBeGreaterThan(0);
    for (const scan of onFeedbacks) expect(scan).toMatch(/^(Index|Index Only|Bitmap Heap) Scan|^Bitmap Heap Scan/);
    expect(scansOf(plan, 'agents').every((scan) => scan.includes('agents_pkey'))).toBe(true);
  });

  it('profiles: agents are read by their key', async () => {
    const plan = await genericPlan(agentProfilesStatement(Array.from({ length: 50 }, (_, n) => BigInt(1 + n * 7))));
    expect(scansOf(plan, 'agents')).toEqual(['Index Scan agents_pkey']);
  });
});
