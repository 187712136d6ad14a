import { getCreditAccount } from '../billing/accounts.js';
import { CreditRefused } from '../domain/errors.js';
import type { CallerContext } from './context.js';

/** The refusal for a charge or hold that did not happen, with the account as it is now. */
export async function creditError(ctx: CallerContext, cost: bigint): Promise<CreditRefused> {
  const account = await getCreditAccount(ctx.db, ctx.orgId);
  return new CreditRefused(cost, account ? account.available : null);
}
