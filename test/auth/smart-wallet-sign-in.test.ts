import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalChain, smartWalletArtifact, startLocalChain } from '../helpers/chain.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { rest, signInMessage, takeNonce } from '../helpers/sign-in.js';

describe('sign-in by a smart-contract wallet (ERC-1271), on a local chain', () => {
  let chain: LocalChain;
  let gateway: TestGateway;
  beforeAll(async () => {
    chain = await startLocalChain();
    gateway = await startTestGateway({ rpcUrl: chain.rpcUrl });
  });
  afterAll(async () => {
    await gateway?.close();
    await chain?.stop();
  });

  it("accepts the owner's signature for the contract wallet, and refuses anyone else's", async () => {
    const owner = await chain.fundedWallet();
    const walletAddress = await chain.deploy(smartWalletArtifact, [owner.address], owner);

    const message = signInMessage(walletAddress, await takeNonce(gateway));
    const accepted = await rest(gateway, 'POST', '/v1/auth/verify', { message, signature: await owner.signMessage({ message }) });
    expect(accepted.status).toBe(200);
    expect(await accepted.json()).toMatchObject({ address: walletAddress.toLowerCase(), role: 'owner', organizationCreated: true });

    const stranger = privateKeyToAccount(generatePrivateKey());
    const forged = signInMessage(walletAddress, await takeNonce(gateway));
    const refused = await rest(gateway, 'POST', '/v1/auth/verify', {
      message: forged,
      signature: await stranger.signMessage({ message: forged }),
    });
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error: { reason: string } }).error.reason).toBe('bad_signature');
  });

  it('still verifies plain EOA signatures through the chain client', async () => {
    const eoa = privateKeyToAccount(generatePrivateKey());
    const message = signInMessage(eoa.address, await takeNonce(gateway));
    const answer = await rest(gateway, 'POST', '/v1/auth/verify', { message, signature: await eoa.signMessage({ message }) });
    expect(answer.status).toBe(200);
  });
});
