/**
 * Signing keys encrypted at rest. With LATCHKEY_KEY_ENCRYPTION_KEY set, every private key is
 * written to the database sealed: AES-256-GCM under a key derived from that secret with
 * HKDF-SHA256 (RFC 5869), a random 96-bit IV, and the key's kid as additional authenticated data
 * (a sealed key moved to another row does not open). Stored as `enc:v1:<base64url(iv‖ct‖tag)>`.
 *
 * Keys are opened only where a private key is needed (KeyManager, when it signs): the JWKS, key
 * listings and migrations work without the secret. A node checks at start that it can open every
 * published key (KeyManager.checkKeys), and no key is written under a secret that does not open
 * the keys already sealed, or in the clear beside sealed keys. Without the secret, keys are
 * written in the clear (development); `latchkey keys encrypt` seals such keys in place.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { KeyStore, SigningKey } from '../storage/types.js';

const SEALED = 'enc:';
const PREFIX = 'enc:v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class KeyEncryptionError extends Error {
  override name = 'KeyEncryptionError';
}

/** The AES-256 key for signing keys, from the operator's secret. */
export function keyEncryptionKey(secret: string): Buffer {
  // A fixed salt and a versioned info string: the secret is the operator's random key material.
  return Buffer.from(hkdfSync('sha256', secret, 'latchkey', 'latchkey signing keys v1', 32));
}

export const isSealed = (stored: string): boolean => stored.startsWith(SEALED);

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
  if (!stored.startsWith(PREFIX))
    throw new KeyEncryptionError(`signing key ${kid} is sealed in an unknown format`);
  const body64 = stored.slice(PREFIX.length);
  if (!/^[A-Za-z0-9_-]+$/.test(body64)) throw new KeyEncryptionError(`signing key ${kid} is damaged`);
  const raw = Buffer.from(body64, 'base64url');
  if (raw.length < IV_BYTES + TAG_BYTES + 1) throw new KeyEncryptionError(`signing key ${kid} is damaged`);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES), {
      authTagLength: TAG_BYTES,
    });
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

/** Whether a generation has a private key stored in the clear. */
export const hasClearPart = (k: SigningKey): boolean =>
  !isSealed(k.privatePem) || (k.ec !== null && !isSealed(k.ec.privatePem));

/**
 * A KeyStore that seals private keys on the way in. Reads pass through sealed; `open` turns a
 * stored private key into PEM for the one place that signs.
 */
export class EncryptedKeyStore implements KeyStore {
  readonly #key: Buffer | undefined;

  constructor(
    private readonly inner: KeyStore,
    secret: string | undefined,
  ) {
    this.#key = secret === undefined ? undefined : keyEncryptionKey(secret);
  }

  /** PEM of a stored private key (throws KeyEncryptionError when it does not open). */
  open(kid: string, stored: string): string {
    return open(this.#key, kid, stored);
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

  /**
   * Every sealed key must open with this node's secret before it writes one: a node without the
   * secret must not add a clear key beside sealed ones, and one with another secret must not seal
   * a key the other nodes cannot open.
   */
  async #checkSealed(): Promise<void> {
    for (const k of await this.inner.listAll()) {
      for (const [kid, pem] of [
        [k.kid, k.privatePem],
        ...(k.ec ? [[k.ec.kid, k.ec.privatePem]] : []),
      ] as const) {
        if (isSealed(pem)) open(this.#key, kid, pem);
      }
    }
  }

  listPublished(at: number): Promise<SigningKey[]> {
    return this.inner.listPublished(at);
  }

  listAll(): Promise<SigningKey[]> {
    return this.inner.listAll();
  }

  async insertIfGenerationFree(key: SigningKey): Promise<boolean> {
    await this.#checkSealed();
    return this.inner.insertIfGenerationFree(this.#seal(key));
  }

  retireBefore(generation: number, at: number, expiresAt: number): Promise<void> {
    return this.inner.retireBefore(generation, at, expiresAt);
  }

  replacePrivateParts(key: SigningKey): Promise<void> {
    return this.inner.replacePrivateParts(this.#seal(key));
  }

  /**
   * Seals every key stored in the clear (`latchkey keys encrypt`); returns how many generations
   * were sealed. Needs the secret, and refuses one that does not open the keys already sealed.
   * Lists again until no clear key is left (a key rotated meanwhile is sealed too).
   */
  async sealStoredKeys(): Promise<number> {
    if (!this.#key)
      throw new KeyEncryptionError('set LATCHKEY_KEY_ENCRYPTION_KEY to encrypt the signing keys');
    await this.#checkSealed();
    let sealed = 0;
    for (let round = 0; round < 10; round++) {
      const clear = (await this.inner.listAll()).filter(hasClearPart);
      if (clear.length === 0) return sealed;
      for (const k of clear) await this.replacePrivateParts(k);
      sealed += clear.length;
    }
    throw new KeyEncryptionError('keys kept appearing in the clear: is a node running without the secret?');
  }
}
