import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  type Abi,
  type Address,
  createPublicClient,
  createTestClient,
  createWalletClient,
  type Hex,
  hexToNumber,
  http,
  type LocalAccount,
  type PublicClient,
  size,
  slice,
  type TestClient,
  toHex,
} from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { freePort } from './loopback.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface Artifact {
  abi: Abi;
  bytecode: Hex;
}

function artifact(
  name: 'TestUsdc' | 'TestSmartWallet' | 'TestIdentityRegistry' | 'TestReputationRegistry' | 'TestValidationRegistry',
): Artifact {
  return JSON.parse(readFileSync(`${repoRoot}contracts/build/${name}.json`, 'utf8')) as Artifact;
}

export const usdcArtifact = artifact('TestUsdc');
export const smartWalletArtifact = artifact('TestSmartWallet');
export const identityRegistryArtifact = artifact('TestIdentityRegistry');
export const reputationRegistryArtifact = artifact('TestReputationRegistry');
export const validationRegistryArtifact = artifact('TestValidationRegistry');

/** A local anvil chain (chain id 31337, a block per transaction) and clients for it. */
export interface LocalChain {
  rpcUrl: string;
  publicClient: PublicClient;
  testClient: TestClient;
  /** a new wallet with 100 ETH for gas */
  fundedWallet(): Promise<LocalAccount>;
  deploy(contract: Artifact, args: readonly unknown[], from: LocalAccount): Promise<Address>;
  /** sends a contract call from `from`, waits for its receipt, returns the transaction hash */
  write(from: LocalAccount, call: { address: Address; abi: Abi; functionName: string; args: readonly unknown[] }): Promise<Hex>;
  mine(blocks: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startLocalChain(): Promise<LocalChain> {
  const port = await freePort();
  const child: ChildProcess = spawn(`${repoRoot}node_modules/.bin/anvil`, ['--host', '127.0.0.1', '--port', String(port), '--silent'], {
    stdio: 'ignore',
  });
  const rpcUrl = `http://127.0.0.1:${port}`;
  const transport = http(rpcUrl, { retryCount: 0 });
  const publicClient = createPublicClient({ chain: foundry, transport, pollingInterval: 50 }) as PublicClient;
  const testClient = createTestClient({ chain: foundry, mode: 'anvil', transport }) as TestClient;
  for (let attempt = 0; ; attempt++) {
    try {
      await publicClient.getBlockNumber();
      break;
    } catch (error) {
      if (attempt > 100 || child.exitCode !== null) throw new Error(`anvil did not start: ${String(error)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  const walletOf = (account: LocalAccount) => createWalletClient({ account, chain: foundry, transport });
  return {
    rpcUrl,
    publicClient,
    testClient,
    async fundedWallet() {
      const account = privateKeyToAccount(generatePrivateKey());
      await testClient.setBalance({ address: account.address, value: 100n * 10n ** 18n });
      return account;
    },
    async deploy(contract, args, from) {
      const hash = await walletOf(from).deployContract({ abi: contract.abi, bytecode: contract.bytecode, args });
      const receipt = await publicClient.waitForTransactionReceipt({ hash });
      if (!receipt.contractAddress) throw new Error('deployment made no contract');
      return receipt.contractAddress;
    },
    async write(from, call) {
      const hash = await walletOf(from).writeContract({ ...call, chain: foundry, account: from });
      await publicClient.waitForTransactionReceipt({ hash });
      return hash;
    },
    mine: (blocks) => testClient.mine({ blocks }),
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A deployed TestUsdc: its address and its name, which is the name of its EIP-712 domain. */
export interface TestToken {
  address: Address;
  name: string;
}

/** Deploys TestUsdc ("USD Coin"/"USDC" unless told, as Circle's on Base and Ethereum) from `from`. */
export async function deployTestUsdc(
  chain: LocalChain,
  from: LocalAccount,
  options: { name?: string; symbol?: string } = {},
): Promise<TestToken> {
  const name = options.name ?? 'USD Coin';
  return { address: await chain.deploy(usdcArtifact, [name, options.symbol ?? 'USDC'], from), name };
}

/**
 * The EIP-712 domain TestUsdc's EIP-3009 authorizations are signed under: its name, version "2" (as
 * Circle's USDC: x402's requirements carry both in `extra`), the chain and its address. Clients build
 * it themselves; they need not ask the contract for DOMAIN_SEPARATOR().
 */
export function usdcDomain(token: TestToken, chainId: number = foundry.id) {
  return { name: token.name, version: '2', chainId, verifyingContract: token.address } as const;
}

const authorizationFields = [
  { name: 'from', type: 'address' },
  { name: 'to', type: 'address' },
  { name: 'value', type: 'uint256' },
  { name: 'validAfter', type: 'uint256' },
  { name: 'validBefore', type: 'uint256' },
  { name: 'nonce', type: 'bytes32' },
] as const;

/** EIP-3009's two signed messages: anyone may submit the first, only the payee `to` the second. */
export const authorizationTypes = {
  TransferWithAuthorization: authorizationFields,
  ReceiveWithAuthorization: authorizationFields,
} as const;

/** What an EIP-3009 authorization says (x402's `payload.authorization`, with numbers as bigints). */
export interface TransferAuthorization {
  from: Address;
  to: Address;
  value: bigint;
  validAfter: bigint;
  validBefore: bigint;
  nonce: Hex;
}

export interface SignedAuthorization {
  authorization: TransferAuthorization;
  /** 65 bytes r, s, v (v 27 or 28) */
  signature: Hex;
}

/**
 * Signs an EIP-3009 authorization with viem's signTypedData, as an x402 client does: `account` pays
 * `value` of `token` to `to`. Unless told, it is valid from now (validAfter 0) for an hour of wall-clock
 * time and has a random nonce. `from` is the account's own address unless told: a smart wallet's
 * (TestSmartWallet) when its owner signs for it through ERC-1271.
 */
export async function signTransferAuthorization(options: {
  account: LocalAccount;
  token: TestToken;
  chainId?: number;
  from?: Address;
  to: Address;
  value: bigint;
  validAfter?: bigint;
  validBefore?: bigint;
  nonce?: Hex;
  primaryType?: keyof typeof authorizationTypes;
}): Promise<SignedAuthorization> {
  const authorization: TransferAuthorization = {
    from: options.from ?? options.account.address,
    to: options.to,
    value: options.value,
    validAfter: options.validAfter ?? 0n,
    validBefore: options.validBefore ?? BigInt(Math.floor(Date.now() / 1000) + 3600),
    nonce: options.nonce ?? toHex(randomBytes(32)),
  };
  const signature = await options.account.signTypedData({
    domain: usdcDomain(options.token, options.chainId),
    types: authorizationTypes,
    primaryType: options.primaryType ?? 'TransferWithAuthorization',
    message: authorization,
  });
  return { authorization, signature };
}

/**
 * The arguments of transferWithAuthorization / receiveWithAuthorization for a signed authorization:
 * with the signature split into v, r, s (the overload the x402 SDK calls for a 65-byte signature) or
 * as bytes (the one it calls for anything else, e.g. a smart wallet's).
 */
export function authorizationArgs({ authorization: a, signature }: SignedAuthorization, form: 'vrs' | 'bytes' = 'vrs'): readonly unknown[] {
  const fields = [a.from, a.to, a.value, a.validAfter, a.validBefore, a.nonce] as const;
  if (form === 'bytes') return [...fields, signature];
  // split by hand, not with parseSignature (which refuses r = 0 and the like): tests send bad signatures too
  if (size(signature) !== 65) throw new Error(`a (v, r, s) signature has 65 bytes, not ${size(signature)}`);
  return [...fields, hexToNumber(slice(signature, 64, 65)), slice(signature, 0, 32), slice(signature, 32, 64)];
}
