import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * A provider's credentials at rest (issue 19): AES-256-GCM under the operator's SECRETS_KEY, a
 * fresh 96-bit nonce per seal, and the additional data `context` (the tool's name and version) so a
 * sealed value copied onto another row does not open there.
 */
const VERSION = 'v1';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** `plaintext` sealed as `v1.<base64url of nonce | ciphertext | tag>`. */
export function sealSecret(key: Buffer, plaintext: string, context: string): string {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return `${VERSION}.${Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('base64url')}`;
}

export class SecretUnreadable extends Error {
  constructor() {
    super('a sealed secret does not open under SECRETS_KEY (another key, or the value was altered)');
  }
}

/** The plaintext of `sealed`; throws SecretUnreadable when the key, the context or the bytes differ. */
export function openSecret(key: Buffer, sealed: string, context: string): string {
  const [version, encoded] = sealed.split('.');
  const bytes = Buffer.from(encoded ?? '', 'base64url');
  if (version !== VERSION || bytes.length < NONCE_BYTES + TAG_BYTES) throw new SecretUnreadable();
  const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, NONCE_BYTES));
  decipher.setAAD(Buffer.from(context, 'utf8'));
  decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(bytes.subarray(NONCE_BYTES, bytes.length - TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    throw new SecretUnreadable();
  }
}
