import {
  type Address,
  domainSeparator,
  type Hex,
  type LocalAccount,
  numberToHex,
  parseEventLogs,
  parseSignature,
  serializeSignature,
  zeroAddress,
  zeroHash,
} from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authorizationArgs,
  deployTestUsdc,
  type LocalChain,
  type SignedAuthorization,
  signTransferAuthorization,
  smartWalletArtifact,
  startLocalChain,
  type TestToken,
  usdcArtifact,
  usdcDomain,
} from '../helpers/chain.js';

/** secp256k1's group order n: (r, n - s) with the other v is the malleable twin of a signature */
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

describe("the project's test USDC takes EIP-3009 authorizations (x402's exact scheme), on a local chain", () => {
  let chain: LocalChain;
  let token: TestToken;
  /** submits authorizations and pays the gas: a facilitator, or the gateway settling by itself */
  let settler: LocalAccount;
  let treasury: Address;

  beforeAll(async () => {
    chain = await startLocalChain();
    const deployer = await chain.fundedWallet();
    token = await deployTestUsdc(chain, deployer);
    settler = await chain.fundedWallet();
    treasury = privateKeyToAccount(generatePrivateKey()).address;
  });
  afterAll(async () => {
    await chain?.stop();
  });

  const read = (functionName: string, args: readonly unknown[] = []) =>
    chain.publicClient.readContract({ address: token.address, abi: usdcArtifact.abi, functionName, args });
  const balanceOf = async (address: Address) => (await read('balanceOf', [address])) as bigint;
  const used = async ({ authorization }: SignedAuthorization) =>
    (await read('authorizationState', [authorization.from, authorization.nonce])) as boolean;
  const submit = (signed: SignedAuthorization, options: { by?: LocalAccount; form?: 'vrs' | 'bytes'; receive?: boolean } = {}) =>
    chain.write(options.by ?? settler, {
      address: token.address,
      abi: usdcArtifact.abi,
      functionName: options.receive ? 'receiveWithAuthorization' : 'transferWithAuthorization',
      args: authorizationArgs(signed, options.form),
    });

  /** a payer holding `funds` and no ETH: the settler pays the gas */
  async function fundedPayer(funds = 10_000_000n): Promise<LocalAccount> {
    const payer = privateKeyToAccount(generatePrivateKey());
    await chain.write(settler, { address: token.address, abi: usdcArtifact.abi, functionName: 'mint', args: [payer.address, funds] });
    return payer;
  }

  async function latestTimestamp(): Promise<bigint> {
    return (await chain.publicClient.getBlock()).timestamp;
  }

  it('names the EIP-712 domain a client builds by itself: name, version "2", chain id, the contract', async () => {
    expect(await read('name')).toBe('USD Coin');
    expect(await read('version')).toBe('2');
    expect(await read('decimals')).toBe(6);
    expect(await read('DOMAIN_SEPARATOR')).toBe(domainSeparator({ domain: usdcDomain(token, foundry.id) }));
    const other = await deployTestUsdc(chain, settler, { name: 'Other Coin', symbol: 'OTH' });
    expect(await chain.publicClient.readContract({ address: other.address, abi: usdcArtifact.abi, functionName: 'DOMAIN_SEPARATOR' })).toBe(
      domainSeparator({ domain: usdcDomain(other, foundry.id) }),
    );
  });

  it("moves the value once when a third party submits the payer's signed authorization; a replay is refused", async () => {
    const payer = await fundedPayer(10_000_000n);
    const signed = await signTransferAuthorization({ account: payer, token, to: treasury, value: 1_500n });
    const treasuryBefore = await balanceOf(treasury);
    expect(await used(signed)).toBe(false);

    const hash = await submit(signed);
    const receipt = await chain.publicClient.getTransactionReceipt({ hash });
    const events = parseEventLogs({ abi: usdcArtifact.abi, logs: receipt.logs });
    expect(events.map((event) => [event.eventName, event.args])).toEqual([
      ['AuthorizationUsed', { authorizer: payer.address, nonce: signed.authorization.nonce }],
      ['Transfer', { from: payer.address, to: treasury, value: 1_500n }],
    ]);
    expect(await balanceOf(payer.address)).toBe(10_000_000n - 1_500n);
    expect(await balanceOf(treasury)).toBe(treasuryBefore + 1_500n);
    expect(await balanceOf(settler.address)).toBe(0n);
    expect(await used(signed)).toBe(true);

    // the nonce is spent whichever overload, or whoever, submits it again
    await expect(submit(signed)).rejects.toThrow(/EIP3009: authorization is used/);
    await expect(submit(signed, { form: 'bytes' })).rejects.toThrow(/EIP3009: authorization is used/);
    await expect(submit(signed, { by: await chain.fundedWallet() })).rejects.toThrow(/EIP3009: authorization is used/);
    expect(await balanceOf(payer.address)).toBe(10_000_000n - 1_500n);
    expect(await balanceOf(treasury)).toBe(treasuryBefore + 1_500n);
  });

  it('takes the signature as 65 bytes too (the overload the x402 SDK calls for any other signature)', async () => {
    const payer = await fundedPayer(5_000n);
    const signed = await signTransferAuthorization({ account: payer, token, to: treasury, value: 5_000n });
    await submit(signed, { form: 'bytes' });
    expect(await balanceOf(payer.address)).toBe(0n);
    expect(await used(signed)).toBe(true);
    await expect(submit(signed)).rejects.toThrow(/EIP3009: authorization is used/);

    const short = await signTransferAuthorization({ account: payer, token, to: treasury, value: 0n });
    await expect(submit({ ...short, signature: short.signature.slice(0, -2) as Hex }, { form: 'bytes' })).rejects.toThrow(
      /EIP3009: invalid signature/,
    );
  });

  it('refuses an authorization outside its time window, and it stays unused', async () => {
    const payer = await fundedPayer();
    const now = await latestTimestamp();
    const expired = await signTransferAuthorization({ account: payer, token, to: treasury, value: 1n, validBefore: now });
    await expect(submit(expired)).rejects.toThrow(/EIP3009: authorization is expired/);
    const early = await signTransferAuthorization({ account: payer, token, to: treasury, value: 1n, validAfter: now + 3600n });
    await expect(submit(early)).rejects.toThrow(/EIP3009: authorization is not yet valid/);
    expect(await used(expired)).toBe(false);
    expect(await used(early)).toBe(false);
    expect(await balanceOf(payer.address)).toBe(10_000_000n);
  });

  it('refuses a signature by another key, one over other terms, a malleable twin and a v of 0 or 1', async () => {
    const payer = await fundedPayer();
    const stranger = privateKeyToAccount(generatePrivateKey());
    const forged = await signTransferAuthorization({ account: stranger, token, from: payer.address, to: treasury, value: 1_000n });
    await expect(submit(forged)).rejects.toThrow(/EIP3009: invalid signature/);

    const signed = await signTransferAuthorization({ account: payer, token, to: treasury, value: 1_000n });
    const raised = { ...signed, authorization: { ...signed.authorization, value: 1_000_000n } };
    await expect(submit(raised)).rejects.toThrow(/EIP3009: invalid signature/);
    const redirected = { ...signed, authorization: { ...signed.authorization, to: settler.address } };
    await expect(submit(redirected)).rejects.toThrow(/EIP3009: invalid signature/);

    // another chain's or another token's domain does not verify here
    const elsewhere = await signTransferAuthorization({ account: payer, token, chainId: 8453, to: treasury, value: 1_000n });
    await expect(submit(elsewhere)).rejects.toThrow(/EIP3009: invalid signature/);
    const renamed = await signTransferAuthorization({ account: payer, token: { ...token, name: 'USDC' }, to: treasury, value: 1_000n });
    await expect(submit(renamed)).rejects.toThrow(/EIP3009: invalid signature/);

    // ecrecover itself would take the twin and name the payer: the contract refuses an s in the upper half
    const { r, s, yParity } = parseSignature(signed.signature);
    const twin = serializeSignature({ r, s: numberToHex(SECP256K1_N - BigInt(s), { size: 32 }), yParity: 1 - yParity });
    await expect(submit({ ...signed, signature: twin })).rejects.toThrow(/EIP3009: invalid signature/);
    // v as a bare y parity (as some signers give it) is refused, not read as 27 or 28
    const bareV = `${signed.signature.slice(0, -2)}${yParity === 0 ? '00' : '01'}` as Hex;
    await expect(submit({ ...signed, signature: bareV }, { form: 'bytes' })).rejects.toThrow(/EIP3009: invalid signature/);

    expect(await used(signed)).toBe(false);
    expect(await balanceOf(payer.address)).toBe(10_000_000n);
    await submit(signed); // the genuine one still pays
    expect(await balanceOf(payer.address)).toBe(10_000_000n - 1_000n);
  });

  it('refuses an unsigned authorization from address(0), which ecrecover names for any bad signature', async () => {
    await chain.write(settler, { address: token.address, abi: usdcArtifact.abi, functionName: 'mint', args: [zeroAddress, 1_000n] });
    const signed = await signTransferAuthorization({ account: settler, token, from: zeroAddress, to: treasury, value: 1_000n });
    const unsigned = { ...signed, signature: `${zeroHash}${zeroHash.slice(2)}1b` as Hex }; // r = s = 0, v = 27
    await expect(submit(unsigned)).rejects.toThrow(/EIP3009: invalid signature/);
    await expect(submit(unsigned, { form: 'bytes' })).rejects.toThrow(/EIP3009: invalid signature/);
    expect(await balanceOf(zeroAddress)).toBe(1_000n);
    expect(await used(unsigned)).toBe(false);
  });

  it('refuses an authorization the payer cannot cover, and it stays unused', async () => {
    const payer = await fundedPayer(999n);
    const signed = await signTransferAuthorization({ account: payer, token, to: treasury, value: 1_000n });
    await expect(submit(signed)).rejects.toThrow(/ERC20: transfer amount exceeds balance/);
    expect(await used(signed)).toBe(false);
  });

  it('lets only the payee submit a ReceiveWithAuthorization, which a TransferWithAuthorization signature is not', async () => {
    const payer = await fundedPayer();
    const payee = await chain.fundedWallet();
    const signed = await signTransferAuthorization({
      account: payer,
      token,
      to: payee.address,
      value: 2_000n,
      primaryType: 'ReceiveWithAuthorization',
    });
    await expect(submit(signed, { receive: true })).rejects.toThrow(/EIP3009: caller must be the payee/);
    await expect(submit(signed, { receive: true, form: 'bytes' })).rejects.toThrow(/EIP3009: caller must be the payee/);
    // nor may a settler pass it off as a transfer authorization
    await expect(submit(signed)).rejects.toThrow(/EIP3009: invalid signature/);
    const transferSigned = await signTransferAuthorization({ account: payer, token, to: payee.address, value: 2_000n });
    await expect(submit(transferSigned, { by: payee, receive: true })).rejects.toThrow(/EIP3009: invalid signature/);

    await submit(signed, { by: payee, receive: true });
    expect(await balanceOf(payee.address)).toBe(2_000n);
    expect(await used(signed)).toBe(true);
    await expect(submit(signed, { by: payee, receive: true })).rejects.toThrow(/EIP3009: authorization is used/);
  });

  it("takes a smart wallet's authorization through ERC-1271, signed by its owner", async () => {
    const owner = privateKeyToAccount(generatePrivateKey());
    const wallet = await chain.deploy(smartWalletArtifact, [owner.address], settler);
    await chain.write(settler, { address: token.address, abi: usdcArtifact.abi, functionName: 'mint', args: [wallet, 3_000n] });

    const stranger = privateKeyToAccount(generatePrivateKey());
    const forged = await signTransferAuthorization({ account: stranger, token, from: wallet, to: treasury, value: 1_000n });
    await expect(submit(forged, { form: 'bytes' })).rejects.toThrow(/EIP3009: invalid signature/);

    const viaBytes = await signTransferAuthorization({ account: owner, token, from: wallet, to: treasury, value: 1_000n });
    await submit(viaBytes, { form: 'bytes' });
    // a 65-byte signature reaches the wallet through the (v, r, s) overload as well, as in USDC
    const viaVrs = await signTransferAuthorization({ account: owner, token, from: wallet, to: treasury, value: 1_000n });
    await submit(viaVrs);
    expect(await balanceOf(wallet)).toBe(1_000n);
    expect(await used(viaBytes)).toBe(true);
    expect(await used(viaVrs)).toBe(true);
  });
});
