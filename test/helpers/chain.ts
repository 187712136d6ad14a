import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  type Abi,
  type Address,
  createPublicClient,
  createTestClient,
  createWalletClient,
  type Hex,
  http,
  type LocalAccount,
  type PublicClient,
  type TestClient,
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
