/**
 * Signing keys encrypted at rest. With LATCHKEY_KEY_ENCRYPTION_KEY set, every private key is
 * written to the database sealed: AES-256-GCM under a key derived from that secret with
 * HKDF-SHA256 (RFC 5869), a random 96-bit IV, and the key's kid as additional authenticated data
 * (a sealed key moved to another row does not open). Stored as `enc:v1:<base64url(iv‖ct‖tag)>`.
 *
 * Without the secret, keys are written in the clear (development); sealed keys then refuse to
 * load with a one-line error, as does a wrong secret. Clear keys written before the secret was set
 * still load; `latchkey keys encrypt` seals them in place.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { KeyStore, SigningKey } from '../storage/types.js';

const PREFIX = 'enc:v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class KeyEncryptionError extends Error {
  override name = 'KeyEncryptionError';
}

/** The AES-256 key for signing keys, from the operator's secret. */
export function keyEncryptionKey(secret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'latchkey', 'latchkey signing keys v1', 32));
}

export const isSealed = (stored: string): boolean => stored.startsWith(PREFIX);

export function seal(key: Buffer, kid: string, pem: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(kid, 'utf8'));
  const ct = Buffer.concat([cipher.update(pem, 'utf8'), cipher.final()]);
  return PREFIX + Buffer.concat([iv, ct, cipher.getAuthTag()]).toString('base64url');
}

export function open(key: Buffer | undefined, kid: string, stored: string): string {
  if (!isSealed(stored)) return stored;
  if (!key) {
    throw new KeyEncryptionError(
      `signing key ${kid} is encrypted: set LATCHKEY_KEY_ENCRYPTION_KEY to the secret it was sealed with`,
    );
  }
  const raw = Buffer.from(stored.slice(PREFIX.length), 'base64url');
  if (raw.length < IV_BYTES + TAG_BYTES + 1) throw new KeyEncryptionError(`signing key ${kid} is damaged`);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(kid, 'utf8'));
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    const body = raw.subarray(IV_BYTES, raw.length - TAG_BYTES);
    return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
  } catch {
    throw new KeyEncryptionError(
      `LATCHKEY_KEY_ENCRYPTION_KEY does not open signing key ${kid} (a different secret, or a damaged row)`,
    );
  }
}

/** A KeyStore that seals private keys on the way in and opens them on the way out. */
export class EncryptedKeyStore implements KeyStore {
  readonly #key: Buffer | undefined;

  constructor(
    private readonly inner: KeyStore,
    secret: string | undefined,
  ) {
    this.#key = secret === undefined ? undefined : keyEncryptionKey(secret);
  }

  #open(k: SigningKey): SigningKey {
    return {
      ...k,
      privatePem: open(this.#key, k.kid, k.privatePem),
      ec: k.ec ? { ...k.ec, privatePem: open(this.#key, k.ec.kid, k.ec.privatePem) } : null,
    };
  }

  #seal(k: SigningKey): SigningKey {
    const key = this.#key;
    if (!key) return k;
    const sealOnce = (kid: string, pem: string) => (isSealed(pem) ? pem : seal(key, kid, pem));
    return {
      ...k,
      privatePem: sealOnce(k.kid, k.privatePem),
      ec: k.ec ? { ...k.ec, privatePem: sealOnce(k.ec.kid, k.ec.privatePem) } : null,
    };
  }

  async listPublished(at: number): Promise<SigningKey[]> {
    return (await this.inner.listPublished(at)).map((k) => this.#open(k));
  }

  async listAll(): Promise<SigningKey[]> {
    return (await this.inner.listAll()).map((k) => this.#open(k));
  }

  insertIfGenerationFree(key: SigningKey): Promise<boolean> {
    return this.inner.insertIfGenerationFree(this.#seal(key));
  }

  retireBefore(generation: number, at: number, expiresAt: number): Promise<void> {
    return this.inner.retireBefore(generation, at, expiresAt);
  }

  replacePrivateParts(kid: string, privatePem: string, ecPrivatePem: string | null): Promise<void> {
    return this.inner.replacePrivateParts(kid, privatePem, ecPrivatePem);
  }

  /**
   * Seals every key stored in the clear (`latchkey keys encrypt`); returns how many generations
   * were sealed. Needs the secret. Idempotent: sealed keys are left as they are.
   */
  async sealStoredKeys(): Promise<number> {
    if (!this.#key)
      throw new KeyEncryptionError('set LATCHKEY_KEY_ENCRYPTION_KEY to encrypt the signing keys');
    let sealed = 0;
    for (const stored of await this.inner.listAll()) {
      const clear = !isSealed(stored.privatePem) || (stored.ec !== null && !isSealed(stored.ec.privatePem));
      if (!clear) continue;
      const next = this.#seal(this.#open(stored));
      await this.inner.replacePrivateParts(stored.kid, next.privatePem, next.ec?.privatePem ?? null);
      sealed++;
    }
    return sealed;
  }
}
