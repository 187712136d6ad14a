import { sql } from 'drizzle-orm';
import { OPERATOR } from '../src/audit/record.js';
import { createOrganization } from '../src/auth/organizations.js';
import { rollUpUsage } from '../src/billing/usage-rollup.js';
import { openDatabase } from '../src/db/client.js';
import { createToolRegistry } from '../src/tools/registry.js';

export interface UsageHistorySize {
  tasks: number;
  days: number;
}

export interface UsageReadFigure {
  path: string;
  requests: number;
  p50Ms: number;
  maxMs: number;
}

export interface UsageBenchResult {
  tasks: number;
  days: number;
  seedSeconds: number;
  /** the first rollup pass over the whole history */
  rollupSeconds: number;
  rolledDays: number;
  reads: UsageReadFigure[];
}

export interface UsageOrganization {
  orgId: string;
  apiKey: string;
}

/**
 * One organization with `tasks` finished paid calls spread evenly over the last `days` days (every
 * tool, one in twenty failed, durations 5–1,500 ms), inserted in bulk, then the rollup job's first
 * pass over them, timed.
 */
export async function seedUsageHistory(url: string, size: UsageHistorySize, now: Date) {
  const db = await openDatabase({ url, poolSize: 2 });
  try {
    const seedStarted = performance.now();
    const org = await createOrganization(db, { name: 'bench usage org', credits: 0n, by: OPERATOR });
    const tools = createToolRegistry().list();
    const spacingMs = Math.floor((size.days * 86_400_000) / size.tasks);
    await db.run(sql`
      insert into tasks (org_id, context_id, message_id, tool, cost, state, history, duration_ms, created_at, updated_at)
      select ${org.orgId}, 'bench-usage', 'bench-usage-' || i, tool.name, tool.cost,
             (case when i % 20 = 0 then 'failed' else 'completed' end)::task_state, '[]'::jsonb,
             (5 + (i::int8 * 7919) % 1500)::int, at, at
        from generate_series(1, ${size.tasks}::int) i
        cross join lateral (select ${now.toISOString()}::timestamptz - interval '1 millisecond' * (i::float8 * ${spacingMs}::int) as at) created
        join (select * from json_to_recordset(${JSON.stringify(tools.map((tool, index) => ({ index, name: tool.name, cost: Number(tool.costMicroUsdc) })))}::json)
                as t(index int, name text, cost int8)) tool on tool.index = i % ${tools.length}::int`);
    await db.run(sql`vacuum analyze tasks`);
    const seedSeconds = (performance.now() - seedStarted) / 1000;
    const rollupStarted = performance.now();
    const pass = await rollUpUsage(db, now);
    return {
      org: { orgId: org.orgId, apiKey: org.apiKey.key } satisfies UsageOrganization,
      seedSeconds,
      rollupSeconds: (performance.now() - rollupStarted) / 1000,
      rolledDays: pass.days,
    };
  } finally {
    await db.close();
  }
}

/** Each dashboard read `requests` times in a row, timed over HTTP from outside the gateway. */
export async function measureUsageReads(baseUrl: string, org: UsageOrganization, requests: number, now: Date): Promise<UsageReadFigure[]> {
  const weekAgo = new Date(now.getTime() - 7 * 86_400_000).toISOString();
  const paths = [
    '/v1/usage?by=tool',
    '/v1/usage?by=day',
    `/v1/usage?by=tier&from=${weekAgo}`,
    '/v1/usage.csv?by=day',
    '/v1/tasks?limit=50',
    '/v1/tasks?state=failed&limit=50',
    '/v1/ledger?limit=100',
  ];
  const figures: UsageReadFigure[] = [];
  for (const path of paths) {
    const timings: number[] = [];
    for (let n = 0; n < requests; n++) {
      const started = performance.now();
      const response = await fetch(`${baseUrl}${path}`, { headers: { authorization: `Bearer ${org.apiKey}` } });
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`${path} answered ${response.status}`);
      timings.push(performance.now() - started);
    }
    timings.sort((a, b) => a - b);
    const at = (q: number) => Math.round((timings[Math.min(timings.length - 1, Math.floor(q * timings.length))] ?? 0) * 10) / 10;
    figures.push({ path, requests, p50Ms: at(0.5), maxMs: at(1) });
  }
  return figures;
}

export function formatUsageBench(result: UsageBenchResult): string {
  return [
    `usage reads, one organization with ${result.tasks.toLocaleString('en')} tasks over ${result.days} days ` +
      `(inserted in ${result.seedSeconds.toFixed(1)} s; first rollup pass ${result.rolledDays} days in ${result.rollupSeconds.toFixed(1)} s):`,
    ...result.reads.map(
      (read) =>
        `  ${read.path.padEnd(44)} p50 ${String(read.p50Ms).padStart(6)} ms, max ${String(read.maxMs).padStart(6)} ms over ${read.requests}`,
    ),
  ].join('\n');
}
