import { sql, type SQL } from 'drizzle-orm';
import { Hono } from 'hono';
import { z } from 'zod';
import type { Sessions } from '../auth/sessions.js';
import { getCreditAccount } from '../billing/accounts.js';
import { LEDGER_KINDS, listLedger, type LedgerEntry } from '../billing/ledger.js';
import { getLowBalanceAlert } from '../billing/low-balance.js';
import { usageBy, type UsageRow } from '../billing/usage.js';
import type { Database } from '../db/client.js';
import { boundedInstant, int8Cursor } from '../db/ranges.js';
import { decodePageToken, encodePageToken } from '../tasks/service.js';
import { findTask, isTaskId, listTaskPage } from '../tasks/store.js';
import { toTaskView } from '../tasks/view.js';
import { displayUsdc } from '../tools/money.js';
import type { ToolRegistry } from '../tools/registry.js';
import { TASK_STATES } from '../domain/task-model.js';
import { ApiError, queryOf } from './api-errors.js';
import { requireCaller } from './caller-auth.js';
import { toCsv } from './csv.js';
import type { AppEnv } from './env.js';
import type { Answer, balanceAnswer, ledgerAnswer, tasksAnswer, taskAnswer, usageAnswer } from './responses.js';

const range = { from: boundedInstant.optional(), to: boundedInstant.optional() };
const limit = (max: number, fallback: number) => z.coerce.number().int().min(1).max(max).default(fallback);

export const ledgerQuery = z.strictObject({
  kind: z
    .string()
    .transform((value) => value.split(','))
    .pipe(z.array(z.enum(LEDGER_KINDS)))
    .optional(),
  ...range,
  limit: limit(500, 100),
  cursor: int8Cursor.optional(),
});

export const usageQuery = z.strictObject({ by: z.enum(['tool', 'tier', 'day']).default('tool'), ...range });

export const tasksQuery = z.strictObject({
  state: z.enum(TASK_STATES).optional(),
  tool: z.string().max(100).optional(),
  ...range,
  limit: limit(200, 50),
  cursor: z.string().max(200).optional(),
});

function ledgerView(entry: LedgerEntry) {
  return {
    id: entry.id.toString(),
    kind: entry.kind,
    amountMicroUsdc: entry.amount.toString(),
    amountDisplay: displayUsdc(entry.amount),
    reservedDeltaMicroUsdc: entry.reservedDelta.toString(),
    taskId: entry.taskId,
    reason: entry.reason,
    createdAt: entry.createdAt,
  };
}

function usageView({ spent, ...row }: UsageRow) {
  return { ...row, spentMicroUsdc: spent.toString(), spentDisplay: displayUsdc(spent) };
}

const LEDGER_CSV = [
  { header: 'id', value: (entry: LedgerEntry) => entry.id },
  { header: 'created_at', value: (entry: LedgerEntry) => entry.createdAt },
  { header: 'kind', value: (entry: LedgerEntry) => entry.kind },
  { header: 'amount_micro_usdc', value: (entry: LedgerEntry) => entry.amount },
  { header: 'reserved_delta_micro_usdc', value: (entry: LedgerEntry) => entry.reservedDelta },
  { header: 'task_id', value: (entry: LedgerEntry) => entry.taskId },
  { header: 'reason', value: (entry: LedgerEntry) => entry.reason },
] as const;

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

/** CSV exports hold every row of the range, in pages of this many read one after another. */
const EXPORT_PAGE = 5_000;

/**
 * What billing dashboards read: balance, ledger, usage and tasks of the caller's organization (by
 * API key or wallet session), and CSV exports of the ledger and usage. Aggregates are computed by
 * PostgreSQL; pages are keyset cursors.
 */
export function billingRoutes(deps: { db: Database; sessions: Sessions; tools: ToolRegistry }) {
  const caller = requireCaller(deps);
  const tierOf = (tool: SQL) =>
    sql`case ${tool} ${sql.join(deps.tools.list().map((entry) => sql`when ${entry.name} then ${String(entry.tier)}`), sql` `)} else 'unknown' end`;

  async function allLedger(orgId: string, query: z.output<typeof ledgerQuery>): Promise<LedgerEntry[]> {
    const rows: LedgerEntry[] = [];
    for (let beforeId = query.cursor; ; ) {
      const page = await listLedger(deps.db, orgId, { kinds: query.kind, from: query.from, to: query.to, beforeId, limit: EXPORT_PAGE });
      rows.push(...page);
      if (page.length < EXPORT_PAGE) return rows;
      beforeId = page.at(-1)?.id;
    }
  }

  return new Hono<AppEnv>()
    .get('/v1/balance', caller, async (c) => {
      const [account, alert] = await Promise.all([getCreditAccount(deps.db, c.get('caller').orgId), getLowBalanceAlert(deps.db, c.get('caller').orgId)]);
      if (!account) throw new ApiError('not_found', 'this organization has no credit account yet', 'no_credit_account');
      return c.json({
        orgId: account.orgId,
        balanceMicroUsdc: account.balance.toString(),
        reservedMicroUsdc: account.reserved.toString(),
        availableMicroUsdc: account.available.toString(),
        balanceDisplay: displayUsdc(account.balance),
        reservedDisplay: displayUsdc(account.reserved),
        availableDisplay: displayUsdc(account.available),
        // Read live, not from the alert's last look: the page shows the state of this very moment.
        lowBalance: alert ? { thresholdMicroUsdc: alert.threshold.toString(), below: account.available < alert.threshold } : null,
      } satisfies Answer<typeof balanceAnswer>);
    })
    .get('/v1/ledger', caller, async (c) => {
      const query = queryOf(c, ledgerQuery);
      const page = await listLedger(deps.db, c.get('caller').orgId, { kinds: query.kind, from: query.from, to: query.to, beforeId: query.cursor, limit: query.limit });
      const last = page.at(-1);
      return c.json({ entries: page.map(ledgerView), nextCursor: page.length === query.limit && last ? last.id.toString() : null } satisfies Answer<typeof ledgerAnswer>);
    })
    .get('/v1/ledger.csv', caller, async (c) => {
      const rows = await allLedger(c.get('caller').orgId, queryOf(c, ledgerQuery));
      return c.body(toCsv(LEDGER_CSV, rows), 200, { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': 'attachment; filename="ledger.csv"' });
    })
    .get('/v1/usage', caller, async (c) => {
      const query = queryOf(c, usageQuery);
      const rows = await usageBy(deps.db, c.get('caller').orgId, { by: query.by, from: query.from, to: query.to, tierOf });
      return c.json({ by: query.by, usage: rows.map(usageView) } satisfies Answer<typeof usageAnswer>);
    })
    .get('/v1/usage.csv', caller, async (c) => {
      const query = queryOf(c, usageQuery);
      const rows = await usageBy(deps.db, c.get('caller').orgId, { by: query.by, from: query.from, to: query.to, tierOf });
      return c.body(toCsv(USAGE_CSV, rows), 200, { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': `attachment; filename="usage-by-${query.by}.csv"` });
    })
    .get('/v1/tasks', caller, async (c) => {
      const query = queryOf(c, tasksQuery);
      const before = query.cursor ? decodePageToken(query.cursor) : undefined;
      const { rows, total } = await listTaskPage(deps.db, c.get('caller').orgId, {
        ...(query.state ? { state: query.state } : {}),
        ...(query.tool ? { tool: query.tool } : {}),
        ...(query.from ? { createdFrom: query.from.toISOString() } : {}),
        ...(query.to ? { createdTo: query.to.toISOString() } : {}),
        ...(before ? { before } : {}),
        limit: query.limit + 1,
      });
      const page = rows.slice(0, query.limit);
      const last = page.at(-1);
      return c.json({
        tasks: page.map((row) => ({ ...toTaskView(row, { historyLength: 0 }), tool: row.tool, createdAt: row.created_at })),
        nextCursor: rows.length > query.limit && last ? encodePageToken(last) : null,
        total,
      } satisfies Answer<typeof tasksAnswer>);
    })
    .get('/v1/tasks/:id', caller, async (c) => {
      const id = c.req.param('id');
      // Another organization's task is "not found", exactly like one that does not exist.
      const row = isTaskId(id) ? await findTask(deps.db, c.get('caller').orgId, id) : undefined;
      if (!row) throw new ApiError('not_found', `no task ${id} in this organization`, 'unknown_task');
      return c.json({ ...toTaskView(row), tool: row.tool, arguments: row.arguments, createdAt: row.created_at } satisfies Answer<typeof taskAnswer>);
    });
}
