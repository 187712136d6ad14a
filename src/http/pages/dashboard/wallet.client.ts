/**
 * The injected EIP-1193 wallet as the top-up section uses it: which chain it is on, switching it to
 * the gateway's, and sending a USDC transfer, with the wallet's refusals said as plain sentences.
 */

/** An EIP-1193 error: the wallet's code (4001 the user rejected, 4902 chain unknown to it) and message. */
interface WalletError {
  code?: number;
  message?: string;
}

/** What the visitor is told when the wallet refuses: a sentence for EIP-1193's codes and the 4902 wallets answer an unknown chain with, else the wallet's own message. */
export function walletRefusal(error: unknown, chainId: number): string {
  const { code, message } = (error ?? {}) as WalletError;
  if (code === 4001) return 'You rejected the request in your wallet; nothing was sent.';
  if (code === 4902)
    return 'Your wallet does not know chain ' + chainId + ': add the network in your wallet, then switch to it and try again.';
  if (code === 4100) return 'Your wallet did not let this page use the account; unlock it or connect this site, then try again.';
  return 'Your wallet refused: ' + (message || 'no reason given');
}

function wallet() {
  if (!window.ethereum) throw new Error('no wallet found in this browser');
  return window.ethereum;
}

export const walletPresent = () => Boolean(window.ethereum);

/** The chain the wallet is on now (eth_chainId answers hex). */
export async function walletChainId(): Promise<number> {
  return Number(await wallet().request({ method: 'eth_chainId' }));
}

/** Asks the wallet to move to `chainId` (EIP-3326); throws its error, 4902 when it does not know the chain. */
export async function switchWalletChain(chainId: number): Promise<void> {
  await wallet().request({ method: 'wallet_switchEthereumChain', params: [{ chainId: '0x' + chainId.toString(16) }] });
}

/** The accounts the wallet lets this page use (asking it to connect if it has not). */
export async function walletAccounts(): Promise<string[]> {
  return ((await wallet().request({ method: 'eth_requestAccounts' })) as string[]).map((a) => a.toLowerCase());
}

const word = (hex: string) => hex.padStart(64, '0');

/**
 * ERC-20 transfer(to, amount) as calldata, encoded by hand: the selector and two 32-byte words.
 * (viem's encodeFunctionData would add some 25 KB to a page script of under 30.)
 */
export function transferCalldata(to: string, microUsdc: bigint): string {
  if (!/^0x[0-9a-fA-F]{40}$/.test(to)) throw new Error('the treasury address is not an address: ' + to);
  // keccak256("transfer(address,uint256)")[0..4]
  return '0xa9059cbb' + word(to.slice(2).toLowerCase()) + word(microUsdc.toString(16));
}

/** Sends `microUsdc` of the USDC contract `usdc` from `from` to `treasury`; the wallet signs, the answer is the transaction hash. */
export async function sendUsdcTransfer(transfer: { from: string; usdc: string; treasury: string; microUsdc: bigint }): Promise<string> {
  return (await wallet().request({
    method: 'eth_sendTransaction',
    params: [{ from: transfer.from, to: transfer.usdc, value: '0x0', data: transferCalldata(transfer.treasury, transfer.microUsdc) }],
  })) as string;
}
