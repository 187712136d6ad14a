import { type SQL, sql } from 'drizzle-orm';
import { z } from 'zod';
import { type UsageRow, usageBy } from '../../billing/usage.js';
import { SPLIT_MAX_DAYS } from '../../billing/usage-split.js';
import type { Database } from '../../db/client.js';
import { displayUsdc } from '../../tools/money.js';
import type { ToolRegistry } from '../../tools/registry.js';
import { toCsv } from '../csv.js';
import { display, micro } from '../responses.js';
import { json, type RestRouter, restRoute } from '../rest-route.js';
import { csv, csvHeaders, range } from './query.js';

const DAY_MS = 86_400_000;

const usageQuery = z
  .strictObject({
    by: z.enum(['tool', 'tier', 'day']).default('tool'),
    split: z
      .enum(['tool'])
      .optional()
      .describe(`with by=day only: a row per day and tool, each naming its tool; needs from and to, at most ${SPLIT_MAX_DAYS} days apart`),
    ...range,
  })
  .superRefine((query, ctx) => {
    if (!query.split) return;
    if (query.by !== 'day') ctx.addIssue({ code: 'custom', path: ['split'], message: 'split=tool goes with by=day only' });
    if (!query.from || !query.to) {
      ctx.addIssue({ code: 'custom', path: [query.from ? 'to' : 'from'], message: 'split=tool needs both from and to' });
    } else if (!(query.from < query.to) || query.to.getTime() - query.from.getTime() > SPLIT_MAX_DAYS * DAY_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['to'],
        message: `with split=tool, to must be after from and at most ${SPLIT_MAX_DAYS} days later`,
      });
    }
  });

const usageAnswer = z.strictObject({
  by: z.enum(['tool', 'tier', 'day']),
  usage: z.array(
    z.strictObject({
      key: z.string().describe('the tool, the tier or the UTC day (YYYY-MM-DD)'),
      tool: z.string().optional().describe("with split=tool: the row's tool (the row is that tool's calls on the day in key)"),
      calls: z.number().int(),
      succeeded: z.number().int(),
      failed: z.number().int().describe('failed, cancelled or rejected: never charged'),
      spentMicroUsdc: micro,
      spentDisplay: display,
      successRate: z.number().nullable(),
      p50Ms: z.number().nullable(),
      p95Ms: z.number().nullable(),
    }),
  ),
});

export const usageRoute = restRoute({
  method: 'get',
  path: '/v1/usage',
  summary: 'Paid calls aggregated by tool, tier or day (or by day and tool)',
  access: 'caller',
  request: { query: usageQuery },
  responses: { 200: json(usageAnswer, 'the usage rows') },
});

export const usageCsvRoute = restRoute({
  method: 'get',
  path: '/v1/usage.csv',
  summary: 'Usage as CSV',
  access: 'caller',
  request: { query: usageQuery },
  responses: { 200: csv('CSV') },
});

function usageView({ spent, tool, ...row }: UsageRow) {
  return { ...row, ...(tool === null ? {} : { tool }), spentMicroUsdc: spent.toString(), spentDisplay: displayUsdc(spent) };
}

const USAGE_CSV = [
  { header: 'key', value: (row: UsageRow) => row.key },
  { header: 'calls', value: (row: UsageRow) => row.calls },
  { header: 'succeeded', value: (row: UsageRow) => row.succeeded },
  { header: 'failed', value: (row: UsageRow) => row.failed },
  { header: 'spent_micro_usdc', value: (row: UsageRow) => row.spent },
  { header: 'success_rate', value: (row: UsageRow) => row.successRate },
  { header: 'p50_ms', value: (row: UsageRow) => row.p50Ms },
  { header: 'p95_ms', value: (row: UsageRow) => row.p95Ms },
] as const;
/** split by tool: the tool after the day */
const USAGE_SPLIT_CSV = [USAGE_CSV[0], { header: 'tool', value: (row: UsageRow) => row.tool }, ...USAGE_CSV.slice(1)];

export function addUsageRoutes(api: RestRouter, deps: { db: Database; tools: ToolRegistry }) {
  // A built-in tool's tier is in code; a catalog tool's in its newest version's row (a tier is the
  // tool's kind of data, which a new version keeps in practice; usage is not kept per version).
  const tierOf = (tool: SQL) =>
    sql`case ${tool} ${sql.join(
      deps.tools.list().map((entry) => sql`when ${entry.name} then ${String(entry.tier)}`),
      sql` `,
    )} else coalesce((select ct.tier::text from catalog_tools ct where ct.name = ${tool} order by ct.created_at desc limit 1), 'unknown') end`;
  const usageOf = (orgId: string, query: z.output<typeof usageQuery>) =>
    usageBy(deps.db, orgId, { by: query.by, split: query.split, from: query.from, to: query.to, tierOf });

  api.add(usageRoute, async (c) => {
    const query = c.req.valid('query');
    const rows = await usageOf(c.get('caller').orgId, query);
    return c.json({ by: query.by, usage: rows.map(usageView) }, 200);
  });
  api.add(usageCsvRoute, async (c) => {
    const query = c.req.valid('query');
    const rows = await usageOf(c.get('caller').orgId, query);
    return query.split
      ? c.body(toCsv(USAGE_SPLIT_CSV, rows), 200, csvHeaders(`usage-by-${query.by}-and-${query.split}.csv`))
      : c.body(toCsv(USAGE_CSV, rows), 200, csvHeaders(`usage-by-${query.by}.csv`));
  });
}
