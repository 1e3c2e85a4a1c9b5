/**
 * Second-factor secrets at rest (TOTP seeds): sealed with the same AES-256-GCM sealing as signing
 * keys (tokens/key-encryption.ts) under a key of their own derived from
 * LATCHKEY_KEY_ENCRYPTION_KEY (HKDF-SHA256, another info string), with `totp:<factor id>` as
 * additional data, so a sealed seed copied to another row does not open. Without that secret the
 * seed is stored as it is (development), like signing keys.
 */
import { hkdfSync } from 'node:crypto';
import { open, seal } from '../tokens/key-encryption.js';

const factorKey = (kek: string) =>
  Buffer.from(hkdfSync('sha256', kek, 'latchkey', 'latchkey factor secrets v1', 32));

export function sealFactorSecret(kek: string | undefined, factorId: string, secret: string): string {
  return kek === undefined ? secret : seal(factorKey(kek), `totp:${factorId}`, secret);
}

/** The secret; throws KeyEncryptionError when it is sealed and `kek` does not open it. */
export function openFactorSecret(kek: string | undefined, factorId: string, stored: string): string {
  return open(kek === undefined ? undefined : factorKey(kek), `totp:${factorId}`, stored);
}
