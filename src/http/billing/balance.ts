import { z } from 'zod';
import { getCreditAccount } from '../../billing/accounts.js';
import { getLowBalanceAlert } from '../../billing/low-balance.js';
import type { Database } from '../../db/client.js';
import { displayUsdc } from '../../tools/money.js';
import { ApiError } from '../api-errors.js';
import { display, micro } from '../responses.js';
import { json, type RestRouter, restRoute } from '../rest-route.js';

const balanceAnswer = z.strictObject({
  orgId: z.uuid(),
  balanceMicroUsdc: micro,
  reservedMicroUsdc: micro.describe('held for calls still running'),
  availableMicroUsdc: micro.describe('balance − reserved: what new calls can spend'),
  balanceDisplay: display,
  reservedDisplay: display,
  availableDisplay: display,
  lowBalance: z.strictObject({ thresholdMicroUsdc: micro, below: z.boolean() }).nullable(),
});

export const balanceRoute = restRoute({
  method: 'get',
  path: '/v1/balance',
  summary: 'Balance, reserved and available credit, and the low-balance state',
  access: 'caller',
  refusals: [404],
  responses: { 200: json(balanceAnswer, 'the balance') },
});

export function addBalanceRoute(api: RestRouter, deps: { db: Database }) {
  api.add(balanceRoute, async (c) => {
    const [account, alert] = await Promise.all([
      getCreditAccount(deps.db, c.get('caller').orgId),
      getLowBalanceAlert(deps.db, c.get('caller').orgId),
    ]);
    if (!account) throw new ApiError('not_found', 'this organization has no credit account yet', 'no_credit_account');
    return c.json(
      {
        orgId: account.orgId,
        balanceMicroUsdc: account.balance.toString(),
        reservedMicroUsdc: account.reserved.toString(),
        availableMicroUsdc: account.available.toString(),
        balanceDisplay: displayUsdc(account.balance),
        reservedDisplay: displayUsdc(account.reserved),
        availableDisplay: displayUsdc(account.available),
        // Read live, not from the alert's last look: the page shows the state of this very moment.
        lowBalance: alert ? { thresholdMicroUsdc: alert.threshold.toString(), below: account.available < alert.threshold } : null,
      },
      200,
    );
  });
}
