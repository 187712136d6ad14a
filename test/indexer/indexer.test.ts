import { sql } from 'drizzle-orm';
import { keccak256, type LocalAccount, stringToHex, toHex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { NewOrganization } from '../../src/auth/organizations.js';
import { call, expectResult, request, toolCall, v1Data, v1Send } from '../a2a/support.js';
import { type LocalChain, startLocalChain } from '../helpers/chain.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { rest } from '../helpers/sign-in.js';
import { catchUp, deployRegistries, indexerDeps, type Registries, registryCalls } from './support.js';

/** An agent's on-chain metadata: values 0x-hex by key. */
const agentMetadata = z.object({ metadata: z.record(z.string(), z.string()) });

describe('the ERC-8004 indexer: registry events on a local chain become what the tools answer', () => {
  let chain: LocalChain;
  let gateway: TestGateway;
  let org: NewOrganization;
  let registries: Registries;
  let calls: ReturnType<typeof registryCalls>;
  let owner: LocalAccount;
  let clientA: LocalAccount;
  let clientB: LocalAccount;
  let validator: LocalAccount;

  const tool = async (name: string, args: Record<string, unknown>) => {
    const reply = await call(gateway, request('SendMessage', v1Send([v1Data(toolCall(name, args))])), org.apiKey.key);
    return expectResult(reply).task.artifacts[0].parts[0].data;
  };
  const index = () => catchUp(indexerDeps(gateway.database.db, chain, registries));

  beforeAll(async () => {
    chain = await startLocalChain();
    gateway = await startTestGateway({ indexedChainId: 31337 });
    org = await gateway.createOrg({ credits: 10_000_000n });
    const deployer = await chain.fundedWallet();
    [owner, clientA, clientB, validator] = await Promise.all([
      chain.fundedWallet(),
      chain.fundedWallet(),
      chain.fundedWallet(),
      chain.fundedWallet(),
    ]);
    registries = await deployRegistries(chain, deployer);
    calls = registryCalls(registries);
  }, 60_000);
  afterAll(async () => {
    await gateway?.close();
    await chain?.stop();
  });

  it('/readyz and /v1/indexer say how fresh the data is: nothing before the first pass, then the block indexed, the head and the lag', async () => {
    expect(await (await rest(gateway, 'GET', '/v1/indexer')).json()).toEqual({ indexer: null });
    await chain.mine(3);
    await index();
    const head = await chain.publicClient.getBlockNumber();
    const ready = (await (await gateway.app.request('/readyz')).json()) as { indexer: Record<string, unknown> };
    expect(ready.indexer).toMatchObject({
      chainId: 31337,
      indexedBlock: String(head),
      headBlock: String(head),
      lagBlocks: 0,
      finalBlock: String(head - 2n),
    });
    expect(await (await rest(gateway, 'GET', '/v1/indexer')).json()).toEqual({ indexer: ready.indexer });
  });

  it('registration, feedback (current and October 2025 events), revocation and validation, exactly', async () => {
    await chain.write(owner, calls.register('https://agents.example/zero.json'));
    await chain.write(owner, calls.register('ipfs://bafy-agent-one'));
    await chain.write(owner, calls.setMetadata(1n, 'endpoint', stringToHex('https://one.example')));
    await chain.write(clientA, calls.giveFeedback(0n, 87n, 0, 'starred'));
    await chain.write(clientB, calls.giveFeedback(0n, 9977n, 2, 'uptime'));
    await chain.write(clientA, calls.giveFeedback(0n, 560n, 0, 'responseTime'));
    await chain.write(clientA, calls.giveFeedback(0n, -32n, 1, 'tradingYield', 'week'));
    await chain.write(clientB, calls.giveOctober2025Feedback(0n, 40, stringToHex('starred', { size: 32 })));
    await chain.write(clientA, calls.revokeFeedback(0n, 1n));
    const requestHash = keccak256(toHex('validate agent 0'));
    await chain.write(owner, calls.validationRequest(validator.address, 0n, requestHash));
    await chain.write(validator, calls.validationResponse(requestHash, 30, 'tee'));
    await chain.write(validator, calls.validationResponse(requestHash, 100, 'tee')); // progressive: the latest stands

    expect(await index()).toBe(13); // 2 registrations + 3 MetadataSet + 5 feedbacks + 1 revocation + 2 responses

    expect(await tool('getAgentProfile', { agentId: 0 })).toMatchObject({
      agent_id: 0,
      owner: owner.address.toLowerCase(),
      metadata_uri: 'https://agents.example/zero.json',
    });
    const feedbacks = await tool('getMyFeedbacks', { agentId: 0, includeRevoked: true });
    expect(
      feedbacks.feedbacks
        .map((f: Record<string, unknown>) => [
          f.client_address,
          f.feedback_index,
          f.value,
          f.value_decimals,
          f.tag1,
          f.tag2,
          f.revoked,
          f.score,
        ])
        .sort(),
    ).toEqual(
      [
        [clientA.address.toLowerCase(), '1', '87', 0, 'starred', '', true, 87],
        [clientB.address.toLowerCase(), '1', '9977', 2, 'uptime', '', false, 99.77],
        [clientA.address.toLowerCase(), '2', '560', 0, 'responseTime', '', false, null],
        [clientA.address.toLowerCase(), '3', '-32', 1, 'tradingYield', 'week', false, null],
        [clientB.address.toLowerCase(), '2', '40', 0, 'starred', '', false, 40],
      ].sort(),
    );
    const summary = await tool('getReputationSummary', { agentId: 0 });
    expect(summary).toMatchObject({ total_feedbacks: 4, unscored_feedbacks: 2 });
    const validations = await tool('getValidationHistory', { agentId: 0 });
    expect(validations.validations).toEqual([
      expect.objectContaining({ validator_address: validator.address.toLowerCase(), result: 'passed', score: 100, tag: 'tee' }),
    ]);
    const [one] = await gateway.database.db.rows(agentMetadata, sql`select metadata from agents where id = 1`);
    expect(one?.metadata).toEqual({ agentWallet: owner.address.toLowerCase(), endpoint: stringToHex('https://one.example') });
  });

  it('a URI change and a transfer show at the next pass; a second pass over the same head writes nothing', async () => {
    const newOwner = await chain.fundedWallet();
    await chain.write(owner, calls.setAgentURI(1n, 'https://agents.example/one-v2.json'));
    await chain.write(owner, calls.transfer(owner.address, newOwner.address, 1n));
    await index();
    expect(await tool('getAgentProfile', { agentId: 1 })).toMatchObject({
      owner: newOwner.address.toLowerCase(),
      metadata_uri: 'https://agents.example/one-v2.json',
    });
    const [one] = await gateway.database.db.rows(agentMetadata, sql`select metadata from agents where id = 1`);
    expect(one?.metadata.agentWallet).toBe('0x'); // a transfer clears the agent wallet
    expect(await index()).toBe(0);
  });
});
