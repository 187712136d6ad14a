import type { FacilitatorClient } from '@x402/core/server';
import type { PaymentPayload, PaymentRequired, PaymentRequirements, SettleResponse, VerifyResponse } from '@x402/core/types';
import { type Address, erc20Abi, type Hex, type PublicClient, parseAbi } from 'viem';
import { z } from 'zod';
import { chainClient } from '../chain/client.js';
import { type PaymentErrorCode, PaymentRefused } from '../domain/errors.js';
import type { X402Settings } from './facilitator.js';

const hex = (bytes: number) => z.string().regex(new RegExp(`^0x[0-9a-fA-F]{${bytes * 2}}$`), `must be 0x and ${bytes} bytes of hex`);
const uint = z.string().regex(/^\d{1,78}$/, 'must be a decimal integer');
const bounded = z.string().max(200);

/** An x402 v2 payment of the `exact` scheme on an EVM network (an EIP-3009 authorization), every field bounded. */
export const PaymentPayloadSchema = z.object({
  x402Version: z.literal(2),
  resource: z
    .object({ url: z.string().max(2_000), description: z.string().max(2_000).optional(), mimeType: bounded.optional() })
    .optional(),
  accepted: z.object({
    scheme: bounded,
    network: bounded,
    asset: bounded,
    amount: uint,
    payTo: bounded,
    maxTimeoutSeconds: z
      .number()
      .int()
      .min(0)
      .max(86_400 * 365),
    extra: z.record(z.string().max(100), z.unknown()).optional(),
  }),
  payload: z.object({
    signature: z.string().regex(/^0x[0-9a-fA-F]{2,4000}$/, 'must be 0x-hex'),
    authorization: z.object({ from: hex(20), to: hex(20), value: uint, validAfter: uint, validBefore: uint, nonce: hex(32) }),
  }),
});
export type ExactEvmPayment = z.output<typeof PaymentPayloadSchema>;

/** The SDK's verify and settle reasons (`invalid_exact_evm_…`), by the extension's code they are. */
const CODE_OF_REASON: [RegExp, PaymentErrorCode][] = [
  [/valid_before|valid_after/, 'EXPIRED_PAYMENT'],
  [/nonce_already_used/, 'DUPLICATE_NONCE'],
  [/insufficient_balance|insufficient_funds/, 'INSUFFICIENT_FUNDS'],
  [/value_mismatch|authorization_value/, 'INVALID_AMOUNT'],
  [/recipient_mismatch/, 'INVALID_RECIPIENT'],
  [/network_mismatch/, 'NETWORK_MISMATCH'],
  [/signature|token_name|token_version|eip712|eip_712|undeployed|scheme/, 'INVALID_SIGNATURE'],
];

const AUTHORIZATION_STATE = parseAbi(['function authorizationState(address authorizer, bytes32 nonce) view returns (bool)']);

export interface VerifiedPayment {
  payment: ExactEvmPayment;
  /** lowercase: the wallet that signed */
  payer: string;
  amount: bigint;
}

/**
 * x402 payments as the gateway takes them (docs/adr/0023): what it asks for a price, and checking
 * and settling what a client signed, through the x402 project's facilitator (facilitator.ts). Every
 * refusal is a PaymentRefused with the a2a-x402 extension's code.
 */
export class X402Payments {
  private readonly chain: PublicClient | undefined;

  constructor(
    readonly settings: X402Settings,
    private readonly facilitator: FacilitatorClient,
  ) {
    this.chain = settings.rpcUrl ? chainClient(settings.rpcUrl) : undefined;
  }

  /** What a call of `priceMicroUsdc` asks for: USDC base units are micro-USDC, so the amount is the price itself. */
  requirementsFor(priceMicroUsdc: bigint, maxTimeoutSeconds: number): PaymentRequirements {
    const { settings } = this;
    return {
      scheme: 'exact',
      network: settings.network,
      asset: settings.asset,
      amount: priceMicroUsdc.toString(),
      payTo: settings.payTo,
      maxTimeoutSeconds,
      extra: { name: settings.token.name, version: settings.token.version },
    };
  }

  paymentRequired(requirements: PaymentRequirements, resource: { url: string; description: string }, error?: string): PaymentRequired {
    return {
      x402Version: 2,
      ...(error ? { error } : {}),
      resource: { ...resource, mimeType: 'application/json' },
      accepts: [requirements],
    };
  }

  /** Reads a payment a client sent; anything else than an exact EVM authorization of x402 v2 is refused. */
  parse(value: unknown): ExactEvmPayment {
    const parsed = PaymentPayloadSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new PaymentRefused(
        'INVALID_SIGNATURE',
        `the payment is not an x402 v2 exact EVM authorization (${issue ? `${issue.path.join('.') || 'payment'}: ${issue.message}` : 'unreadable'})`,
        'invalid_payload',
      );
    }
    return parsed.data;
  }

  /**
   * Checks that the payment answers `requirements` and that the facilitator finds it valid: the
   * signature, the amount, the recipient, the time window, the payer's balance and its nonce unused
   * on-chain. Nothing is claimed or moved.
   */
  async verify(payment: ExactEvmPayment, requirements: PaymentRequirements): Promise<VerifiedPayment> {
    const { accepted } = payment;
    const authorization = payment.payload.authorization;
    if (accepted.scheme !== requirements.scheme || accepted.network !== requirements.network) {
      throw new PaymentRefused(
        'NETWORK_MISMATCH',
        `the payment is for ${accepted.scheme} on ${accepted.network}; this call takes ${requirements.scheme} on ${requirements.network}`,
      );
    }
    if (accepted.asset.toLowerCase() !== requirements.asset.toLowerCase()) {
      throw new PaymentRefused('NETWORK_MISMATCH', `the payment is in ${accepted.asset}; this call takes ${requirements.asset}`);
    }
    if (
      accepted.payTo.toLowerCase() !== requirements.payTo.toLowerCase() ||
      authorization.to.toLowerCase() !== requirements.payTo.toLowerCase()
    ) {
      throw new PaymentRefused('INVALID_RECIPIENT', `the payment must pay ${requirements.payTo}`);
    }
    if (accepted.amount !== requirements.amount || authorization.value !== requirements.amount) {
      throw new PaymentRefused(
        'INVALID_AMOUNT',
        `this call costs ${requirements.amount} base units; the payment authorizes ${authorization.value}`,
      );
    }
    const verified = await this.facilitator.verify(this.asPayload(payment, requirements), requirements).catch((error: unknown) => {
      // a facilitator that answers an invalid payment with a 4xx and its verify response: the client throws that as a VerifyError
      if (isFacilitatorAnswer<VerifyResponse>(error, 'VerifyError', 'invalidReason')) {
        return { isValid: false, invalidReason: error.invalidReason, invalidMessage: error.invalidMessage, payer: error.payer };
      }
      throw new PaymentRefused(
        'SETTLEMENT_FAILED',
        `the payment could not be verified: ${facilitatorTrouble(error)}`,
        'verify_unavailable',
      );
    });
    if (!verified.isValid) throw await this.refusal(payment, verified.invalidReason, verified.invalidMessage, 'INVALID_SIGNATURE');
    // The payer is the authorization's `from`: the token keys its nonces by it and moves its USDC. A
    // facilitator naming another would have the claim keyed, and the call booked, to a wallet that
    // neither signed nor pays.
    const payer = authorization.from.toLowerCase();
    if (verified.payer !== undefined && verified.payer.toLowerCase() !== payer) {
      throw new PaymentRefused('INVALID_SIGNATURE', 'the facilitator found a payer other than the authorization’s from', 'payer_mismatch');
    }
    return { payment, payer, amount: BigInt(authorization.value) };
  }

  /**
   * Submits the transfer. Resolves with the facilitator's receipt when it settled; a refusal
   * carries the receipt the client is told (success false) and whether the transfer may still land.
   */
  async settle(payment: ExactEvmPayment, requirements: PaymentRequirements): Promise<SettleResponse> {
    let settled: SettleResponse;
    try {
      settled = await this.facilitator.settle(this.asPayload(payment, requirements), requirements);
    } catch (error) {
      // a 4xx with its settle response (a SettleError): its reason, and the transaction it may have sent, are kept
      if (isFacilitatorAnswer<SettleResponse>(error, 'SettleError', 'errorReason')) {
        settled = {
          success: false,
          errorReason: error.errorReason,
          errorMessage: error.errorMessage,
          transaction: error.transaction ?? '',
          network: requirements.network as SettleResponse['network'],
          payer: error.payer,
        };
      } else {
        throw new SettlementFailed(
          new PaymentRefused('SETTLEMENT_FAILED', `the payment could not be settled: ${facilitatorTrouble(error)}`, 'settle_unavailable'),
          failedReceipt(requirements, 'settle_unavailable'),
        );
      }
    }
    if (settled.success) return settled;
    const refusal = await this.refusal(payment, settled.errorReason, settled.errorMessage, 'SETTLEMENT_FAILED');
    // the receipt the client gets: never the facilitator's errorMessage (viem's whole error: the
    // settler's address, the calldata with the payer's signature, an RPC URL with its credentials)
    const { errorMessage: _told, ...receipt } = settled;
    throw new SettlementFailed(refusal, { ...receipt, success: false, network: requirements.network as SettleResponse['network'] });
  }

  private asPayload(payment: ExactEvmPayment, requirements: PaymentRequirements): PaymentPayload {
    return { x402Version: 2, accepted: requirements, payload: payment.payload };
  }

  /**
   * The code of a reason the facilitator gave. A failed simulation says no more than that (the SDK
   * tells the cause only where Multicall3 is deployed): the token is asked whether the nonce was
   * used and what the payer holds.
   */
  private async refusal(payment: ExactEvmPayment, reason: string | undefined, message: string | undefined, otherwise: PaymentErrorCode) {
    const text = reason ?? 'unknown';
    const mapped = CODE_OF_REASON.find(([pattern]) => pattern.test(text))?.[1];
    const code = mapped ?? (await this.diagnose(payment)) ?? otherwise;
    return new PaymentRefused(code, `the payment was refused: ${plainMessage(message) ?? text}`, text);
  }

  private async diagnose(payment: ExactEvmPayment): Promise<PaymentErrorCode | undefined> {
    if (!this.chain) return undefined;
    const { from, value, nonce } = payment.payload.authorization;
    const token = payment.accepted.asset as Address;
    try {
      const [used, balance] = await Promise.all([
        this.chain.readContract({
          address: token,
          abi: AUTHORIZATION_STATE,
          functionName: 'authorizationState',
          args: [from as Address, nonce as Hex],
        }),
        this.chain.readContract({ address: token, abi: erc20Abi, functionName: 'balanceOf', args: [from as Address] }),
      ]);
      if (used) return 'DUPLICATE_NONCE';
      if (balance < BigInt(value)) return 'INSUFFICIENT_FUNDS';
    } catch {
      // the chain could not tell: the caller's default code stands
    }
    return undefined;
  }
}

/** A settlement that did not happen (or whose outcome is unknown), with the receipt the client is told. */
export class SettlementFailed extends Error {
  constructor(
    readonly refusal: PaymentRefused,
    readonly receipt: SettleResponse,
  ) {
    super(refusal.message);
    this.name = 'SettlementFailed';
  }
}

function failedReceipt(requirements: PaymentRequirements, errorReason: string): SettleResponse {
  return { success: false, errorReason, transaction: '', network: requirements.network as SettleResponse['network'] };
}

/**
 * What of a facilitator's message a client (and the payer's task) may be told: its first line,
 * without URLs (an RPC URL carries its credentials) or long hex (calldata, signatures), bounded.
 * The x402 SDK passes viem's whole error text on, which names all of those on the lines after.
 */
export function plainMessage(message: string | undefined): string | undefined {
  const line = message
    ?.split('\n', 1)[0]
    ?.replace(/\b[a-z][a-z0-9+.-]*:\/\/\S+/gi, '[url]')
    .replace(/0x[0-9a-f]{41,}/gi, '0x…')
    .trim();
  return line ? line.slice(0, 200) : undefined;
}

/**
 * Whether `error` is the x402 HTTP facilitator client's VerifyError or SettleError: a facilitator
 * that answered with a 4xx or 5xx and a verify or settle response. Told apart by name and field, not
 * by class: @x402/core ships CJS and ESM builds, whose classes differ.
 */
function isFacilitatorAnswer<T>(error: unknown, name: string, field: string): error is Error & Partial<T> {
  return (
    error instanceof Error &&
    error.name === name &&
    field in error &&
    typeof (error as unknown as Record<string, unknown>)[field] === 'string'
  );
}

/** A facilitator's failure, said without its details (a URL with credentials, a stack). */
function facilitatorTrouble(error: unknown): string {
  return error instanceof Error && error.name.includes('Timeout') ? 'the facilitator timed out' : 'the facilitator did not answer';
}
