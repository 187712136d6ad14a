import { pino } from 'pino';
import type { Address, LocalAccount } from 'viem';
import type { Database } from '../../src/db/client.js';
import { type IndexerDeps, type IndexerSettings, indexerLogReader, indexOnce } from '../../src/indexer/indexer.js';
import { identityRegistryArtifact, type LocalChain, reputationRegistryArtifact, validationRegistryArtifact } from '../helpers/chain.js';

export interface Registries {
  identity: Address;
  reputation: Address;
  validation: Address;
}

/** The project's test registries (contracts/TestIdentityRegistry.sol and siblings) deployed on the local chain. */
export async function deployRegistries(chain: LocalChain, deployer: LocalAccount): Promise<Registries> {
  const identity = await chain.deploy(identityRegistryArtifact, [], deployer);
  const reputation = await chain.deploy(reputationRegistryArtifact, [identity], deployer);
  const validation = await chain.deploy(validationRegistryArtifact, [identity], deployer);
  return { identity, reputation, validation };
}

export function indexerDeps(
  db: Database,
  chain: LocalChain,
  registries: Registries,
  overrides: Partial<IndexerSettings> = {},
): IndexerDeps {
  return {
    db,
    client: chain.publicClient,
    settings: { chainId: 31337, registries, startBlock: 0n, confirmations: 3, maxBlockRange: 1000n, intervalMs: 50, ...overrides },
    log: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
  };
}

/** Runs passes until the indexer has read up to the head; answers the events written. */
export async function catchUp(deps: IndexerDeps): Promise<number> {
  const reader = indexerLogReader(deps);
  let events = 0;
  for (let pass = 0; pass < 1000; pass++) {
    const outcome = await indexOnce(deps, reader);
    events += outcome.events;
    if (!outcome.more) return events;
  }
  throw new Error('the indexer did not catch up in 1000 passes');
}

export const registryCalls = (registries: Registries) => ({
  register: (uri: string) => ({ address: registries.identity, abi: identityRegistryArtifact.abi, functionName: 'register', args: [uri] }),
  setAgentURI: (agentId: bigint, uri: string) => ({
    address: registries.identity,
    abi: identityRegistryArtifact.abi,
    functionName: 'setAgentURI',
    args: [agentId, uri],
  }),
  setMetadata: (agentId: bigint, key: string, value: `0x${string}`) => ({
    address: registries.identity,
    abi: identityRegistryArtifact.abi,
    functionName: 'setMetadata',
    args: [agentId, key, value],
  }),
  transfer: (from: Address, to: Address, agentId: bigint) => ({
    address: registries.identity,
    abi: identityRegistryArtifact.abi,
    functionName: 'transferFrom',
    args: [from, to, agentId],
  }),
  giveFeedback: (agentId: bigint, value: bigint, valueDecimals: number, tag1: string, tag2 = '') => ({
    address: registries.reputation,
    abi: reputationRegistryArtifact.abi,
    functionName: 'giveFeedback',
    args: [agentId, value, valueDecimals, tag1, tag2, 'https://agent.example/a2a', 'ipfs://bafy-feedback', `0x${'ab'.repeat(32)}`],
  }),
  giveFeedbackBatch: (agentId: bigint, count: number, firstValue: bigint) => ({
    address: registries.reputation,
    abi: reputationRegistryArtifact.abi,
    functionName: 'giveFeedbackBatch',
    args: [agentId, count, firstValue],
  }),
  giveOctober2025Feedback: (agentId: bigint, score: number, tag1: `0x${string}`) => ({
    address: registries.reputation,
    abi: reputationRegistryArtifact.abi,
    functionName: 'giveOctober2025Feedback',
    args: [agentId, score, tag1, `0x${'00'.repeat(32)}`, 'ipfs://bafy-old', `0x${'cd'.repeat(32)}`],
  }),
  revokeFeedback: (agentId: bigint, index: bigint) => ({
    address: registries.reputation,
    abi: reputationRegistryArtifact.abi,
    functionName: 'revokeFeedback',
    args: [agentId, index],
  }),
  validationRequest: (validator: Address, agentId: bigint, requestHash: `0x${string}`) => ({
    address: registries.validation,
    abi: validationRegistryArtifact.abi,
    functionName: 'validationRequest',
    args: [validator, agentId, 'ipfs://bafy-request', requestHash],
  }),
  validationResponse: (requestHash: `0x${string}`, response: number, tag: string) => ({
    address: registries.validation,
    abi: validationRegistryArtifact.abi,
    functionName: 'validationResponse',
    args: [requestHash, response, 'ipfs://bafy-response', `0x${'ef'.repeat(32)}`, tag],
  }),
});
