import { refusalOf } from '../billing/spend-caps.js';
import type { CreditRefused, SpendCapExceeded } from '../domain/errors.js';
import type { CallerContext } from './context.js';

/** The refusal for a charge or hold that did not happen: a spend cap it passes, else the credit, as they are now. */
export function creditError(ctx: CallerContext, cost: bigint): Promise<CreditRefused | SpendCapExceeded> {
  return refusalOf(ctx.db, { orgId: ctx.orgId, keyId: ctx.key.id, cost, now: ctx.clock() });
}
