/**
 * A software authenticator for tests that speak plain HTTP: it answers a ceremony's options (the
 * JSON a passkey form carries in data-options) with the JSON a browser's WebAuthn call gives
 * /assets/passkeys.js, made by hand. Keys are ES256 (node:crypto); a registration is a
 * discoverable credential with `none` attestation (WebAuthn §8.7), its attestation object and
 * COSE key encoded with the small CBOR encoder below (RFC 8949: the few types they need).
 *
 * What a real authenticator refuses (a wrong RP, an excluded credential) is not checked here:
 * the tests use it to make responses the server must judge, good and bad.
 */
import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';

// ---------------------------------------------------------------------------------------------
// CBOR (RFC 8949 §3): unsigned and negative integers, byte and text strings, maps.

type Cbor = number | string | Uint8Array | Map<Cbor, Cbor>;

function head(major: number, n: number): Buffer {
  if (n < 24) return Buffer.from([(major << 5) | n]);
  if (n < 0x100) return Buffer.from([(major << 5) | 24, n]);
  if (n < 0x10000) {
    const b = Buffer.alloc(3);
    b[0] = (major << 5) | 25;
    b.writeUInt16BE(n, 1);
    return b;
  }
  const b = Buffer.alloc(5);
  b[0] = (major << 5) | 26;
  b.writeUInt32BE(n, 1);
  return b;
}

export function cbor(v: Cbor): Buffer {
  if (typeof v === 'number') return v >= 0 ? head(0, v) : head(1, -1 - v);
  if (typeof v === 'string') {
    const s = Buffer.from(v, 'utf8');
    return Buffer.concat([head(3, s.length), s]);
  }
  if (v instanceof Uint8Array) return Buffer.concat([head(2, v.length), v]);
  const parts = [head(5, v.size)];
  for (const [k, x] of v) parts.push(cbor(k), cbor(x));
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------------------------------------
// The authenticator

const b64u = (b: Uint8Array | string) => Buffer.from(b).toString('base64url');
const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest();

/** Authenticator data flags (WebAuthn §6.1). */
const UP = 0x01;
const UV = 0x04;
const BE = 0x08;
const BS = 0x10;
const AT = 0x40;

/** The options' fields these ceremonies read (PublicKeyCredential…OptionsJSON). */
export interface CreationOptions {
  challenge: string;
  rp: { id?: string };
  user: { id: string };
}
export interface RequestOptions {
  challenge: string;
  rpId?: string;
}

export interface Credential {
  /** base64url */
  id: string;
  privateKey: KeyObject;
  /** base64url of the user handle (the options' user.id) */
  userHandle: string;
  rpId: string;
  counter: number;
}

export interface CeremonyOptions {
  /** The person verified (PIN, biometrics): the UV flag. Default yes. */
  uv?: boolean;
  /** The credential may be synced (BE and BS flags). Default no: a device-bound key. */
  synced?: boolean;
  /** Overrides for clientDataJSON (another challenge, origin or type). */
  clientData?: Record<string, unknown>;
}

export class SoftAuthenticator {
  readonly credentials = new Map<string, Credential>();
  constructor(readonly origin: string) {}

  #clientData(type: string, challenge: string, extra: Record<string, unknown> | undefined): Buffer {
    return Buffer.from(
      JSON.stringify({ type, challenge, origin: this.origin, crossOrigin: false, ...extra }),
      'utf8',
    );
  }

  /** navigator.credentials.create(): a new ES256 discoverable credential. */
  create(
    options: CreationOptions,
    opts: CeremonyOptions & {
      /** Bytes of the credential id (WebAuthn allows 16 to 1023). Default 32. */
      idLength?: number;
      /** This credential id (base64url) instead of a random one. */
      id?: string;
      /** The response's `transports` as sent (default ['internal']). */
      transports?: unknown;
    } = {},
  ) {
    const rpId = options.rp.id ?? new URL(this.origin).hostname;
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const cose = cbor(
      new Map<Cbor, Cbor>([
        [1, 2], // kty: EC2
        [3, -7], // alg: ES256
        [-1, 1], // crv: P-256
        [-2, Buffer.from(jwk.x!, 'base64url')],
        [-3, Buffer.from(jwk.y!, 'base64url')],
      ]),
    );
    const rawId = opts.id ? Buffer.from(opts.id, 'base64url') : randomBytes(opts.idLength ?? 32);
    const id = b64u(rawId);
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(rawId.length);
    const authData = Buffer.concat([
      sha256(rpId),
      Buffer.from([this.#flags(opts) | AT]),
      Buffer.alloc(4), // sign count 0
      Buffer.alloc(16), // AAGUID: none
      idLength,
      rawId,
      cose,
    ]);
    const attestationObject = cbor(
      new Map<Cbor, Cbor>([
        ['fmt', 'none'],
        ['attStmt', new Map()],
        ['authData', authData],
      ]),
    );
    this.credentials.set(id, { id, privateKey, userHandle: options.user.id, rpId, counter: 0 });
    return {
      id,
      rawId: id,
      type: 'public-key',
      response: {
        clientDataJSON: b64u(this.#clientData('webauthn.create', options.challenge, opts.clientData)),
        attestationObject: b64u(attestationObject),
        transports: opts.transports ?? ['internal'],
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }

  /** navigator.credentials.get() with `credentialId` (default: the first credential held). */
  get(options: RequestOptions, opts: CeremonyOptions & { credentialId?: string } = {}) {
    const cred = opts.credentialId
      ? this.credentials.get(opts.credentialId)
      : [...this.credentials.values()][0];
    if (!cred) throw new Error('the software authenticator holds no such credential');
    cred.counter += 1;
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(cred.counter);
    const authData = Buffer.concat([
      sha256(options.rpId ?? cred.rpId),
      Buffer.from([this.#flags(opts)]),
      counter,
    ]);
    const clientData = this.#clientData('webauthn.get', options.challenge, opts.clientData);
    // WebAuthn §6.3.3: the signature is over authenticatorData ‖ SHA-256(clientDataJSON), DER-encoded.
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientData)]), cred.privateKey);
    return {
      id: cred.id,
      rawId: cred.id,
      type: 'public-key',
      response: {
        clientDataJSON: b64u(clientData),
        authenticatorData: b64u(authData),
        signature: b64u(signature),
        userHandle: cred.userHandle,
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }

  #flags(opts: CeremonyOptions): number {
    return UP | (opts.uv === false ? 0 : UV) | (opts.synced ? BE | BS : 0);
  }
}
