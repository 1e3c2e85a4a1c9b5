/**
 * Signing keys: created on first start (one per generation, so two nodes starting together
 * cannot both create one), rotated with a publication delay, published in the JWKS until
 * every token they signed has expired.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
} from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import type { Clock } from '../clock.js';
import type { NonceKeys } from '../protocol/dpop-nonce.js';
import type { KeyStore, SigningKey } from '../storage/types.js';

export interface KeyTimings {
  /** Seconds between publishing a new key and signing with it. */
  publicationDelaySec: number;
  /** Seconds a node may serve its cached key list before reading the store again. */
  cacheSec: number;
  /** Longest lifetime of anything a key signs; the old key stays published this long after retiring. */
  maxTokenLifetimeSec: number;
}

export interface ActiveKey {
  kid: string;
  alg: string;
  privateKey: KeyObject;
  /** The generation's ES256 key, when it has one. */
  ec: { kid: string; privateKey: KeyObject } | null;
}

/** A P-256 key for ES256 access tokens, made with every generation (RFC 7518 §3.4). */
async function generateEcPart(): Promise<NonNullable<SigningKey['ec']>> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' }) as JWK;
  const kid = await calculateJwkThumbprint({ kty: 'EC', crv: 'P-256', x: jwk.x!, y: jwk.y! });
  return {
    kid,
    privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicJwk: { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y, kid, alg: 'ES256', use: 'sig' },
  };
}

export async function generateSigningKey(
  generation: number,
  now: number,
  activeAt: number,
): Promise<SigningKey> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicJwk = createPublicKey(privateKey).export({ format: 'jwk' }) as JWK;
  const kid = await calculateJwkThumbprint({ kty: 'RSA', e: publicJwk.e!, n: publicJwk.n! });
  return {
    kid,
    generation,
    alg: 'RS256',
    privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicJwk: { kty: 'RSA', n: publicJwk.n, e: publicJwk.e, kid, alg: 'RS256', use: 'sig' },
    ec: await generateEcPart(),
    createdAt: now,
    activeAt,
    retiredAt: null,
    expiresAt: null,
  };
}

/** Makes the key of a generation (generateSigningKey; tests may reuse keys made once). */
export type KeyGenerator = (generation: number, now: number, activeAt: number) => Promise<SigningKey>;

export class KeyManager {
  #cache: { keys: SigningKey[]; loadedAt: number } | undefined;
  #privateKeys = new Map<string, KeyObject>();
  #derived = new Map<string, Uint8Array>();

  /**
   * `openPrivate` turns a stored private key into PEM (tokens/key-encryption.ts: sealed keys are
   * opened here, where they are used, and nowhere else).
   */
  constructor(
    private readonly store: KeyStore,
    private readonly clock: Clock,
    private readonly timings: KeyTimings,
    private readonly openPrivate: (kid: string, stored: string) => string = (_kid, stored) => stored,
    private readonly generate: KeyGenerator = generateSigningKey,
  ) {}

  /** Opens every published private key: a node that could not sign finds out at start. */
  async checkKeys(): Promise<void> {
    for (const k of await this.#published()) {
      this.#privateKey(k.kid, k.privatePem);
      if (k.ec) this.#privateKey(k.ec.kid, k.ec.privatePem);
    }
  }

  /**
   * Creates generation 1 when the store has no key; safe to call from many nodes at once: the
   * callers run it under the start-up lock (Storage.serialized), so a node that waited finds the
   * first node's key and makes none, and without the lock generations are unique, so one insert
   * wins and the others return undefined (insertIfGenerationFree).
   * With `ecRequired` (ES256 access tokens) and a newest generation made before keys had an
   * ES256 part, rotates once: until the new generation is active, access tokens stay RS256.
   * Returns the key it made, if any.
   */
  async ensureKey(opts: { ecRequired?: boolean } = {}): Promise<SigningKey | undefined> {
    const all = await this.store.listAll();
    if (all.length === 0) {
      const now = this.clock.now();
      const key = await this.generate(1, now, now);
      this.#cache = undefined;
      return (await this.store.insertIfGenerationFree(key)) ? key : undefined;
    }
    if (opts.ecRequired && all[0]?.ec === null) {
      try {
        return await this.rotate();
      } catch (err) {
        // Another node starting at the same moment rotated first: fine if its key has the part.
        if ((await this.store.listAll())[0]?.ec) return undefined;
        throw err;
      }
    }
    return undefined;
  }

  /**
   * Adds the next generation: published at once, used for signing after the publication
   * delay; older keys retire then and stay published until their tokens have expired.
   */
  async rotate(): Promise<SigningKey> {
    const all = await this.store.listAll();
    const next = (all[0]?.generation ?? 0) + 1;
    const now = this.clock.now();
    const activeAt = now + this.timings.publicationDelaySec * 1000;
    const key = await this.generate(next, now, activeAt);
    if (!(await this.store.insertIfGenerationFree(key))) {
      throw new Error('another rotation happened at the same moment; run it again if you need a further key');
    }
    await this.store.retireBefore(next, activeAt, activeAt + this.timings.maxTokenLifetimeSec * 1000);
    this.#cache = undefined;
    return key;
  }

  async #published(): Promise<SigningKey[]> {
    const now = this.clock.now();
    if (
      !this.#cache ||
      now - this.#cache.loadedAt >= this.timings.cacheSec * 1000 ||
      now < this.#cache.loadedAt
    ) {
      this.#cache = { keys: await this.store.listPublished(now), loadedAt: now };
    }
    return this.#cache.keys;
  }

  /** The newest key whose publication delay has passed. */
  async signingKey(): Promise<ActiveKey> {
    const now = this.clock.now();
    const keys = await this.#published();
    const key = keys.find((k) => k.activeAt <= now) ?? keys[keys.length - 1];
    if (!key) throw new Error('no signing key: the key store is empty');
    return {
      kid: key.kid,
      alg: key.alg,
      privateKey: this.#privateKey(key.kid, key.privatePem),
      ec: key.ec ? { kid: key.ec.kid, privateKey: this.#privateKey(key.ec.kid, key.ec.privatePem) } : null,
    };
  }

  /**
   * HMAC keys for DPoP nonces (protocol/dpop-nonce.ts), one per generation: HKDF-SHA256 (RFC 5869)
   * over the generation's RSA private key with an info string of their own, so every node has
   * them without a secret of their own, and they rotate with the signing keys. A nonce names its
   * generation; a generation still published (24 h after it retired) still checks its nonces.
   */
  nonceKeys(): NonceKeys {
    const derive = (k: SigningKey): Uint8Array => {
      let key = this.#derived.get(k.kid);
      if (!key) {
        const der = this.#privateKey(k.kid, k.privatePem).export({ format: 'der', type: 'pkcs8' });
        key = new Uint8Array(hkdfSync('sha256', der, 'latchkey', 'latchkey dpop nonces v1', 32));
        this.#derived.set(k.kid, key);
      }
      return key;
    };
    return {
      current: async () => {
        const now = this.clock.now();
        const keys = await this.#published();
        const key = keys.find((k) => k.activeAt <= now) ?? keys[keys.length - 1];
        if (!key) throw new Error('no signing key: the key store is empty');
        return { id: key.generation, key: derive(key) };
      },
      byId: async (id) => {
        const key = (await this.#published()).find((k) => k.generation === id);
        return key ? derive(key) : undefined;
      },
    };
  }

  #privateKey(kid: string, pem: string): KeyObject {
    let privateKey = this.#privateKeys.get(kid);
    if (!privateKey) {
      privateKey = createPrivateKey(this.openPrivate(kid, pem));
      this.#privateKeys.set(kid, privateKey);
    }
    return privateKey;
  }

  /** RFC 7517 JWK Set of the public parts only. */
  async jwks(): Promise<{ keys: Record<string, unknown>[] }> {
    const now = this.clock.now();
    const keys = await this.#published();
    return {
      keys: keys
        .filter((k) => k.expiresAt === null || k.expiresAt > now)
        .flatMap((k) => (k.ec ? [k.publicJwk, k.ec.publicJwk] : [k.publicJwk])),
    };
  }

  async list(): Promise<SigningKey[]> {
    return this.store.listAll();
  }

  /** Public key by kid (for checking our own id_token_hint). */
  async publicKey(kid: string): Promise<KeyObject | undefined> {
    const keys = await this.#published();
    const jwk = keys
      .flatMap((k) => (k.ec ? [k.publicJwk, k.ec.publicJwk] : [k.publicJwk]))
      .find((j) => j['kid'] === kid);
    return jwk ? createPublicKey({ key: jwk as JWK & { kty: string }, format: 'jwk' }) : undefined;
  }
}
