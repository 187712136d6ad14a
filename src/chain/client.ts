import { type Address, createPublicClient, http, type PublicClient } from 'viem';

/** The chain the treasury receives USDC on, and how sure a transfer must be before it is credited. */
export interface TopUpChain {
  chainId: number;
  usdc: Address;
  treasury: Address;
  /** blocks a transfer's block must have on top of it, itself included, before it is credited */
  confirmations: number;
}

/** The chain's RPC did not answer (or answered with an error that is not about our request). */
export class ChainUnavailableError extends Error {
  constructor(cause: unknown) {
    super('the chain RPC is unavailable', { cause });
    this.name = 'ChainUnavailableError';
  }
}

/**
 * A client for reads the gateway makes of the chain. Each request has a deadline (`timeoutMs`,
 * 10 s unless told) and is tried three times, so a provider that takes a request and never answers
 * holds a pass for about three deadlines, never for ever.
 */
export function chainClient(rpcUrl: string, options: { timeoutMs?: number } = {}): PublicClient {
  return createPublicClient({ transport: http(rpcUrl, { retryCount: 2, timeout: options.timeoutMs ?? 10_000 }) }) as PublicClient;
}

const TRANSPORT_ERRORS = new Set([
  'HttpRequestError',
  'TimeoutError',
  'RpcRequestError',
  'InternalRpcError',
  'LimitExceededRpcError',
  'UnknownRpcError',
]);

/** Runs a read of the chain; a failure of the RPC itself becomes ChainUnavailableError. */
export async function readChain<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    for (let current: unknown = error; current instanceof Error; current = current.cause) {
      if (TRANSPORT_ERRORS.has(current.name)) throw new ChainUnavailableError(error);
    }
    throw error;
  }
}
