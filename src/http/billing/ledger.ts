import { z } from 'zod';
import { LEDGER_KINDS, type LedgerEntry, listLedger } from '../../billing/ledger.js';
import type { Database } from '../../db/client.js';
import { int8Cursor } from '../../db/ranges.js';
import { displayUsdc } from '../../tools/money.js';
import { toCsv } from '../csv.js';
import { display, instant, micro, nextCursor } from '../responses.js';
import { json, type RestRouter, restRoute } from '../rest-route.js';
import { csv, csvHeaders, limit, range } from './query.js';

const ledgerQuery = z.strictObject({
  kind: z
    .string()
    .transform((value) => value.split(','))
    .pipe(z.array(z.enum(LEDGER_KINDS)))
    .optional(),
  ...range,
  limit: limit(500, 100),
  cursor: int8Cursor.optional(),
});

const ledgerAnswer = z.strictObject({
  entries: z.array(
    z.strictObject({
      id: z.string(),
      kind: z.enum(LEDGER_KINDS),
      amountMicroUsdc: micro.describe('the change of the balance'),
      amountDisplay: display,
      reservedDeltaMicroUsdc: micro.describe('the change of the reserved amount'),
      taskId: z
        .uuid()
        .nullable()
        .describe("the task the row settles; of an earning, the caller's task, whose id your upstream received (never its contents)"),
      tool: z.string().nullable().describe('the tool of that task'),
      reason: z.string().nullable(),
      createdAt: instant,
    }),
  ),
  nextCursor,
});

export const ledgerRoute = restRoute({
  method: 'get',
  path: '/v1/ledger',
  summary: 'The ledger, newest first, by keyset cursor',
  access: 'caller',
  request: { query: ledgerQuery },
  responses: { 200: json(ledgerAnswer, 'a page of entries') },
});

export const ledgerCsvRoute = restRoute({
  method: 'get',
  path: '/v1/ledger.csv',
  summary: 'The ledger as CSV (every row of the range)',
  access: 'caller',
  request: { query: ledgerQuery },
  responses: { 200: csv('CSV') },
});

function ledgerView(entry: LedgerEntry) {
  return {
    id: entry.id.toString(),
    kind: entry.kind,
    amountMicroUsdc: entry.amount.toString(),
    amountDisplay: displayUsdc(entry.amount),
    reservedDeltaMicroUsdc: entry.reservedDelta.toString(),
    taskId: entry.taskId,
    tool: entry.tool,
    reason: entry.reason,
    createdAt: entry.createdAt,
  };
}

const LEDGER_CSV = [
  { header: 'id', value: (entry: LedgerEntry) => entry.id },
  { header: 'created_at', value: (entry: LedgerEntry) => entry.createdAt },
  { header: 'kind', value: (entry: LedgerEntry) => entry.kind },
  { header: 'amount_micro_usdc', value: (entry: LedgerEntry) => entry.amount },
  { header: 'reserved_delta_micro_usdc', value: (entry: LedgerEntry) => entry.reservedDelta },
  { header: 'task_id', value: (entry: LedgerEntry) => entry.taskId },
  { header: 'reason', value: (entry: LedgerEntry) => entry.reason },
  { header: 'tool', value: (entry: LedgerEntry) => entry.tool },
] as const;

/** CSV exports hold every row of the range, in pages of this many read one after another. */
const EXPORT_PAGE = 5_000;

export function addLedgerRoutes(api: RestRouter, deps: { db: Database }) {
  async function allLedger(orgId: string, query: z.output<typeof ledgerQuery>): Promise<LedgerEntry[]> {
    const rows: LedgerEntry[] = [];
    for (let beforeId = query.cursor; ; ) {
      const page = await listLedger(deps.db, orgId, { kinds: query.kind, from: query.from, to: query.to, beforeId, limit: EXPORT_PAGE });
      rows.push(...page);
      if (page.length < EXPORT_PAGE) return rows;
      beforeId = page.at(-1)?.id;
    }
  }

  api.add(ledgerRoute, async (c) => {
    const query = c.req.valid('query');
    const page = await listLedger(deps.db, c.get('caller').orgId, {
      kinds: query.kind,
      from: query.from,
      to: query.to,
      beforeId: query.cursor,
      limit: query.limit,
    });
    const last = page.at(-1);
    return c.json({ entries: page.map(ledgerView), nextCursor: page.length === query.limit && last ? last.id.toString() : null }, 200);
  });
  api.add(ledgerCsvRoute, async (c) => {
    const rows = await allLedger(c.get('caller').orgId, c.req.valid('query'));
    return c.body(toCsv(LEDGER_CSV, rows), 200, csvHeaders('ledger.csv'));
  });
}
