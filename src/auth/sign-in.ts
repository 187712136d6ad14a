import { sql } from 'drizzle-orm';
import type { Address, Hex } from 'viem';
import { generateSiweNonce, parseSiweMessage } from 'viem/siwe';
import { z } from 'zod';
import type { Database } from '../db/client.js';
import { isoUtc } from '../db/sql.js';

/** Why a sign-in was refused; each is an HTTP 401 with this code as its reason. */
export type SignInRefusal =
  | 'malformed_message'
  | 'wrong_domain'
  | 'wrong_chain'
  | 'expired_message'
  | 'message_not_yet_valid'
  | 'bad_signature'
  | 'unknown_nonce';

export type SignInOutcome = { ok: true; address: Address } | { ok: false; reason: SignInRefusal; message: string };

/** Checks a wallet's signature of a message: EOA recovery, or ERC-1271 / ERC-6492 through a chain client. */
export type SignatureCheck = (input: { address: Address; message: string; signature: Hex }) => Promise<boolean>;

/** Nonces stay this long after they expire, then go; only unexpired, unused ones are ever accepted. */
const NONCE_RETENTION = sql`interval '1 hour'`;

const NonceExpiryRow = z.object({ expiresAt: z.string() });

/** A fresh single-use EIP-4361 nonce, valid for `ttlS` seconds. */
export async function issueSignInNonce(db: Database, input: { ttlS: number }): Promise<{ nonce: string; expiresAt: string }> {
  const nonce = generateSiweNonce();
  await db.run(sql`delete from sign_in_nonces where expires_at < now() - ${NONCE_RETENTION}`);
  const [row] = await db.rows(
    NonceExpiryRow,
    sql`
    insert into sign_in_nonces (nonce, expires_at) values (${nonce}, now() + make_interval(secs => ${input.ttlS}))
    returning ${isoUtc(sql`expires_at`)} as "expiresAt"`,
  );
  if (!row) throw new Error('nonce insert returned no row');
  return { nonce, expiresAt: row.expiresAt };
}

const SpentNonceRow = z.object({ nonce: z.string() });

/**
 * Verifies an EIP-4361 sign-in: the message names our domain and chain, is within its validity
 * window, is signed by the address it names, and carries a nonce we issued that is unused and
 * unexpired. The nonce is spent only once everything else holds, atomically, so a replay of the
 * same message and signature is refused however many arrive together.
 */
export async function verifySignIn(
  db: Database,
  input: { message: string; signature: Hex },
  expected: { domain: string; chainId: number; now: Date },
  checkSignature: SignatureCheck,
): Promise<SignInOutcome> {
  const fields = parseSiweMessage(input.message);
  const { address, domain, chainId, nonce } = fields;
  if (!address || !domain || chainId === undefined || !nonce || !fields.uri || fields.version !== '1') {
    return refuse('malformed_message', 'the message is not an EIP-4361 sign-in message');
  }
  if (domain !== expected.domain) {
    return refuse('wrong_domain', `the message is for ${domain}; this gateway signs in ${expected.domain}`);
  }
  if (chainId !== expected.chainId) {
    return refuse('wrong_chain', `the message is for chain ${chainId}; this gateway uses chain ${expected.chainId}`);
  }
  if (fields.expirationTime && fields.expirationTime <= expected.now) {
    return refuse('expired_message', 'the message has expired');
  }
  if (fields.notBefore && fields.notBefore > expected.now) {
    return refuse('message_not_yet_valid', 'the message is not valid yet (notBefore)');
  }
  if (!(await checkSignature({ address, message: input.message, signature: input.signature }))) {
    return refuse('bad_signature', 'the signature is not the named address signing this message');
  }
  const spent = await db.rows(
    SpentNonceRow,
    sql`
    update sign_in_nonces set used_at = now()
     where nonce = ${nonce} and used_at is null and expires_at > now()
 returning nonce`,
  );
  if (spent.length === 0) return refuse('unknown_nonce', 'the nonce was not issued here, was used already, or expired');
  return { ok: true, address };
}

function refuse(reason: SignInRefusal, message: string): SignInOutcome {
  return { ok: false, reason, message };
}
