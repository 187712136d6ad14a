import {
  erc20Abi,
  type Hex,
  type Log,
  type PublicClient,
  parseEventLogs,
  TransactionNotFoundError,
  TransactionReceiptNotFoundError,
} from 'viem';
import type { ConfirmedTransfer } from '../billing/topups.js';
import { readChain, type TopUpChain } from './client.js';

/** Why a submitted transaction is not a top-up. */
export type NotATopUp = 'transaction_reverted' | 'not_usdc' | 'not_to_treasury' | 'no_transfer';

export type SubmittedTransaction =
  | { kind: 'unknown' }
  | { kind: 'pending'; confirmations: number }
  | { kind: 'refused'; reason: NotATopUp }
  | { kind: 'confirmed'; transfers: ConfirmedTransfer[] };

/** The Transfer logs of USDC to the treasury among `logs`, as transfers (zero-value ones dropped). */
export function treasuryTransfers(chain: TopUpChain, logs: readonly Log[]): ConfirmedTransfer[] {
  const usdc = chain.usdc.toLowerCase();
  const treasury = chain.treasury.toLowerCase();
  return parseEventLogs({ abi: erc20Abi, eventName: 'Transfer', logs: logs as Log[], strict: true })
    .filter((log) => log.address.toLowerCase() === usdc && log.args.to.toLowerCase() === treasury && log.args.value > 0n)
    .map((log) => ({
      chainId: chain.chainId,
      txHash: (log.transactionHash ?? '').toLowerCase(),
      logIndex: log.logIndex ?? 0,
      blockNumber: log.blockNumber ?? 0n,
      blockHash: (log.blockHash ?? '').toLowerCase(),
      from: log.args.from.toLowerCase(),
      amount: log.args.value,
    }));
}

/** Why a successful transaction's logs hold no USDC transfer to the treasury. */
function whyNoTreasuryTransfer(chain: TopUpChain, logs: readonly Log[]): NotATopUp {
  const transfers = parseEventLogs({ abi: erc20Abi, eventName: 'Transfer', logs: logs as Log[], strict: true });
  if (transfers.some((log) => log.args.to.toLowerCase() === chain.treasury.toLowerCase())) return 'not_usdc';
  if (transfers.some((log) => log.address.toLowerCase() === chain.usdc.toLowerCase())) return 'not_to_treasury';
  return 'no_transfer';
}

/**
 * What a transaction someone submitted as a top-up is, as the chain says now: unknown, still
 * pending (not mined, or short of its confirmations), refused with a reason, or confirmed with its
 * USDC transfers to the treasury.
 */
export async function readSubmittedTransaction(client: PublicClient, chain: TopUpChain, hash: Hex): Promise<SubmittedTransaction> {
  const receipt = await readChain(() =>
    client.getTransactionReceipt({ hash }).catch((error: unknown) => {
      if (error instanceof TransactionReceiptNotFoundError) return undefined;
      throw error;
    }),
  );
  if (!receipt) {
    const transaction = await readChain(() =>
      client.getTransaction({ hash }).catch((error: unknown) => {
        if (error instanceof TransactionNotFoundError) return undefined;
        throw error;
      }),
    );
    return transaction ? { kind: 'pending', confirmations: 0 } : { kind: 'unknown' };
  }
  if (receipt.status !== 'success') return { kind: 'refused', reason: 'transaction_reverted' };
  const transfers = treasuryTransfers(chain, receipt.logs);
  if (transfers.length === 0) return { kind: 'refused', reason: whyNoTreasuryTransfer(chain, receipt.logs) };
  const head = await readChain(() => client.getBlockNumber({ cacheTime: 0 }));
  const confirmations = Number(head - receipt.blockNumber + 1n);
  if (confirmations < chain.confirmations) return { kind: 'pending', confirmations };
  return { kind: 'confirmed', transfers };
}
