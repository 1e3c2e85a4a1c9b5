/**
 * DPoP server nonces (RFC 9449 §8, §9), stateless so that any node accepts a nonce another node
 * gave: a nonce is `base64url(key id ‖ window ‖ HMAC-SHA256(key, "dpop-nonce" ‖ key id ‖ window))`,
 * 4 + 4 + 16 bytes. The window is the clock's time divided into DPOP_NONCE_WINDOW_SEC slices; a
 * nonce of the current or the previous window is accepted, so one lives 5 to 10 minutes and every
 * client of a node shares it while it lasts. Nothing is written or read per request: the HMAC key
 * comes from key material every node already shares (NonceKeys; the server derives it from its
 * signing keys, tokens/keys.ts), named by a small id (the key generation) so that a rotation
 * does not invalidate the nonces given just before it.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../clock.js';

/** Length of a nonce window (seconds); nonces of the current and the previous window are valid. */
export const DPOP_NONCE_WINDOW_SEC = 300;
const MAC_BYTES = 16;
const NONCE_BYTES = 8 + MAC_BYTES;

/** The HMAC keys nonces are made with, the same on every node. */
export interface NonceKeys {
  /** The key new nonces are made with, and its id. */
  current(): Promise<{ id: number; key: Uint8Array }>;
  /** The key of an id, while it is still known (undefined: a nonce made with it is refused). */
  byId(id: number): Promise<Uint8Array | undefined>;
}

export class DpopNonces {
  constructor(
    private readonly keys: NonceKeys,
    private readonly clock: Clock,
    private readonly windowSec = DPOP_NONCE_WINDOW_SEC,
  ) {}

  #window(): number {
    return Math.floor(this.clock.now() / 1000 / this.windowSec);
  }

  #make(id: number, window: number, key: Uint8Array): Buffer {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(id >>> 0, 0);
    head.writeUInt32BE(window >>> 0, 4);
    const mac = createHmac('sha256', key).update('dpop-nonce').update(head).digest().subarray(0, MAC_BYTES);
    return Buffer.concat([head, mac]);
  }

  /** The nonce of the current window (what `DPoP-Nonce` carries). */
  async current(): Promise<string> {
    const { id, key } = await this.keys.current();
    return this.#make(id, this.#window(), key).toString('base64url');
  }

  /** True for a nonce this server (any node) made in the current or the previous window. */
  async isValid(nonce: unknown): Promise<boolean> {
    if (typeof nonce !== 'string' || nonce.length !== 32 || !/^[A-Za-z0-9_-]+$/.test(nonce)) return false;
    const raw = Buffer.from(nonce, 'base64url');
    if (raw.length !== NONCE_BYTES) return false;
    const id = raw.readUInt32BE(0);
    const window = raw.readUInt32BE(4);
    const now = this.#window();
    if (window !== now >>> 0 && window !== (now - 1) >>> 0) return false;
    const key = await this.keys.byId(id);
    if (!key) return false;
    return timingSafeEqual(this.#make(id, window, key), raw);
  }
}
