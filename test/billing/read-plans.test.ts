import { type SQL, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATOR } from '../../src/audit/record.js';
import { createOrganization } from '../../src/auth/organizations.js';
import { type UsageQuery, usageStatement } from '../../src/billing/usage.js';
import { rollUpUsage } from '../../src/billing/usage-rollup.js';
import { taskPageStatements } from '../../src/tasks/store.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { ExplainedRow, type PlanNode, planNodes } from '../helpers/plans.js';
import { needs } from '../helpers/requirements.js';

const DAYS = 60;
const TASKS_PER_ORG = 60_000;
const tierOf: UsageQuery['tierOf'] = (tool) => sql`case ${tool} when 'getTrend' then '1' else '0' end`;

/**
 * The plans PostgreSQL picks for the billing reads over tables of a realistic shape: the planner's
 * choice depends on statistics, so this runs on PostgreSQL after ANALYZE. `npm run bench` measures
 * the same reads over a million tasks.
 */
describe('billing reads use indexes, never a scan of every task (PostgreSQL only)', needs('postgres'), () => {
  let database: TestDatabase;
  let orgId: string;

  const planOf = async (statement: SQL) => {
    const [row] = await database.db.rows(ExplainedRow, sql`explain (format json) ${statement}`);
    return planNodes(row!['QUERY PLAN'][0].Plan);
  };
  const expectNoTaskScan = (plan: PlanNode[]) => {
    const onTasks = plan.filter((node) => node['Relation Name'] === 'tasks');
    expect(onTasks.length).toBeGreaterThan(0);
    expect(onTasks.map((node) => node['Node Type'])).not.toContain('Seq Scan');
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    const created = [];
    for (let n = 0; n < 3; n++) created.push(await createOrganization(database.db, { name: `org ${n}`, credits: 0n, by: OPERATOR }));
    const orgs = created.map((org) => org.orgId);
    orgId = orgs[0]!;
    for (const org of orgs) {
      await database.db.run(sql`
        insert into tasks (org_id, context_id, message_id, tool, cost, state, history, duration_ms, created_at)
        select ${org}, 'c', 'm' || i, (array['getAgentProfile', 'getTrend'])[1 + i % 2], 1000,
               (case when i % 20 = 0 then 'failed' else 'completed' end)::task_state, '[]'::jsonb, i % 300,
               now() - interval '1 second' * (i::float8 * ${(DAYS * 86_400) / TASKS_PER_ORG})
          from generate_series(1, ${TASKS_PER_ORG}::int) i`);
    }
    await rollUpUsage(database.db);
    await database.db.run(sql`analyze`);
  }, 120_000);
  afterAll(() => database.dispose());

  it('usage by tool, tier and day (and split by tool), over every range shape, reads rollups and indexed task ranges', async () => {
    const weekAgo = new Date(Date.now() - 7 * 86_400_000 - 3_600_000);
    for (const by of ['tool', 'tier', 'day'] as const) {
      for (const range of [{}, { from: weekAgo }, { from: weekAgo, to: new Date(Date.now() - 86_400_000) }]) {
        const plan = await planOf(usageStatement(orgId, { by, tierOf, ...range }));
        expectNoTaskScan(plan);
        expect(plan.some((node) => node['Index Name'] === 'usage_rollups_org_day_idx' || node['Relation Name'] === 'usage_rollups')).toBe(
          true,
        );
      }
    }
    // split by tool (the dashboard's stacked days): the same reads
    const split = await planOf(usageStatement(orgId, { by: 'day', split: 'tool', tierOf, from: weekAgo, to: new Date() }));
    expectNoTaskScan(split);
    expect(split.some((node) => node['Relation Name'] === 'usage_rollups')).toBe(true);
  });

  it('a page of tasks walks the (org_id, created_at) index and sorts no more than the page', async () => {
    for (const filter of [{ limit: 51 }, { limit: 51, state: 'failed' as const }, { limit: 51, tool: 'getTrend' }]) {
      const plan = await planOf(taskPageStatements(orgId, filter).page);
      expectNoTaskScan(plan);
      expect(plan.find((node) => node['Relation Name'] === 'tasks')?.['Index Name']).toBe('tasks_org_created_idx');
      expect(plan.map((node) => node['Node Type'])).not.toContain('Sort');
    }
  });
});
