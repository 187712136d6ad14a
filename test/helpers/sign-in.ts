import type { LocalAccount } from 'viem';
import { createSiweMessage, type SiweMessage } from 'viem/siwe';
import { expectDocumentedAnswer } from './documented-answer.js';
import type { TestGateway } from './gateway.js';
import { TEST_SIGN_IN } from './wallet-auth.js';

export interface SignedIn {
  token: string;
  orgId: string;
  address: string;
  role: string;
  organizationCreated: boolean;
}

/** Sends a request to a REST route of the gateway (JSON body and bearer token if given) and checks the answer is the documented one. */
export async function rest(gateway: TestGateway, method: string, path: string, body?: unknown, token?: string): Promise<Response> {
  const response = await gateway.app.request(path, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  await expectDocumentedAnswer(gateway.app, method, path, response);
  return response;
}

export async function takeNonce(gateway: TestGateway): Promise<string> {
  const response = await rest(gateway, 'POST', '/v1/auth/nonce');
  if (response.status !== 201) throw new Error(`nonce: HTTP ${response.status}`);
  return ((await response.json()) as { nonce: string }).nonce;
}

/** An EIP-4361 message for the test gateway, any field overridable. */
export function signInMessage(address: `0x${string}`, nonce: string, overrides: Partial<SiweMessage> = {}): string {
  return createSiweMessage({
    address,
    chainId: TEST_SIGN_IN.chainId,
    domain: TEST_SIGN_IN.domain,
    nonce,
    uri: `https://${TEST_SIGN_IN.domain}/login`,
    version: '1',
    issuedAt: new Date(),
    statement: 'Sign in to a2a-paygate',
    ...overrides,
  });
}

/** The whole flow with a real signature: nonce, message, signMessage, verify. */
export async function signIn(gateway: TestGateway, wallet: LocalAccount): Promise<SignedIn> {
  const message = signInMessage(wallet.address, await takeNonce(gateway));
  const signature = await wallet.signMessage({ message });
  const response = await rest(gateway, 'POST', '/v1/auth/verify', { message, signature });
  if (response.status !== 200) throw new Error(`sign-in: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as SignedIn;
}
