import { z } from 'zod';
import { type EarningsRow, earningsBy } from '../../billing/earnings.js';
import type { Database } from '../../db/client.js';
import { displayUsdc } from '../../tools/money.js';
import { toCsv } from '../csv.js';
import { display, micro } from '../responses.js';
import { json, type RestRouter, restRoute } from '../rest-route.js';
import { csv, csvHeaders, range } from './query.js';

const earningsQuery = z.strictObject({ by: z.enum(['tool', 'day']).default('tool'), ...range });

const amounts = {
  calls: z.number().int().describe('paid calls of your tools'),
  grossMicroUsdc: micro.describe('what the callers paid for them'),
  feeMicroUsdc: micro.describe("the platform's fee (PLATFORM_FEE_BPS of the price, rounded down)"),
  earnedMicroUsdc: micro.describe('credited to your balance: the price less the fee'),
  earnedDisplay: display,
};

const earningsAnswer = z.strictObject({
  by: z.enum(['tool', 'day']),
  earnings: z.array(
    z.strictObject({ key: z.string().describe('the tool, or the UTC day (YYYY-MM-DD) the earning was credited'), ...amounts }),
  ),
  total: z.strictObject(amounts),
});

export const earningsRoute = restRoute({
  method: 'get',
  path: '/v1/usage/earnings',
  summary: "What your organization's tools earned, by tool or day (for providers of catalog tools)",
  description:
    'Each paid call of a tool your organization provides credits your balance with its price less the platform fee, ' +
    'with an `earning` ledger row, in the statement that charges the caller. Callers are never named; the ledger shows each ' +
    'earning with its tool and the task id your upstream received.',
  access: 'caller',
  request: { query: earningsQuery },
  responses: { 200: json(earningsAnswer, 'the earnings rows and their total') },
});

export const earningsCsvRoute = restRoute({
  method: 'get',
  path: '/v1/usage/earnings.csv',
  summary: 'Earnings as CSV',
  access: 'caller',
  request: { query: earningsQuery },
  responses: { 200: csv('CSV') },
});

function amountsOf(row: Omit<EarningsRow, 'key'>) {
  return {
    calls: row.calls,
    grossMicroUsdc: row.gross.toString(),
    feeMicroUsdc: (row.gross - row.credited).toString(),
    earnedMicroUsdc: row.credited.toString(),
    earnedDisplay: displayUsdc(row.credited),
  };
}

const EARNINGS_CSV = [
  { header: 'key', value: (row: EarningsRow) => row.key },
  { header: 'calls', value: (row: EarningsRow) => row.calls },
  { header: 'gross_micro_usdc', value: (row: EarningsRow) => row.gross },
  { header: 'fee_micro_usdc', value: (row: EarningsRow) => row.gross - row.credited },
  { header: 'earned_micro_usdc', value: (row: EarningsRow) => row.credited },
] as const;

export function addEarningsRoutes(api: RestRouter, deps: { db: Database }) {
  const earningsOf = (orgId: string, query: z.output<typeof earningsQuery>) =>
    earningsBy(deps.db, orgId, { by: query.by, from: query.from, to: query.to });

  api.add(earningsRoute, async (c) => {
    const query = c.req.valid('query');
    const rows = await earningsOf(c.get('caller').orgId, query);
    const total = rows.reduce(
      (sum, row) => ({ calls: sum.calls + row.calls, gross: sum.gross + row.gross, credited: sum.credited + row.credited }),
      {
        calls: 0,
        gross: 0n,
        credited: 0n,
      },
    );
    return c.json({ by: query.by, earnings: rows.map((row) => ({ key: row.key, ...amountsOf(row) })), total: amountsOf(total) }, 200);
  });
  api.add(earningsCsvRoute, async (c) => {
    const query = c.req.valid('query');
    const rows = await earningsOf(c.get('caller').orgId, query);
    return c.body(toCsv(EARNINGS_CSV, rows), 200, csvHeaders(`earnings-by-${query.by}.csv`));
  });
}
