import { getCreditAccount } from '../billing/accounts.js';
import { RpcCode, RpcError } from '../rpc/errors.js';
import type { CallerContext } from './context.js';

const noCreditAccount = () =>
  new RpcError(RpcCode.CreditsOrUnsupported, 'No credit balance is initialized for this organization', {
    reason: 'no_credit_account',
  });

/** The credit refusal (-32004) for a known figure: `available` null means no credit account. */
export function creditRefusal(available: bigint | null, cost: bigint): RpcError {
  if (available === null) return noCreditAccount();
  return new RpcError(RpcCode.CreditsOrUnsupported, 'Insufficient credits', {
    reason: 'insufficient_credits',
    required: cost.toString(),
    available: available.toString(),
  });
}

/** The refusal for a charge or hold that did not happen, with the account as it is now. */
export async function creditError(ctx: CallerContext, cost: bigint): Promise<RpcError> {
  const account = await getCreditAccount(ctx.db, ctx.orgId);
  return creditRefusal(account ? account.available : null, cost);
}
