/**
 * client_secret_jwt needs the secret itself (an HMAC key), not its hash: for applications with
 * that method the secret is also stored sealed, with the same AES-256-GCM sealing as signing
 * keys (key-encryption.ts) under a key of its own derived from LATCHKEY_KEY_ENCRYPTION_KEY
 * (HKDF-SHA256, another info string), and `client:<client_id>` as additional data, so a sealed
 * secret copied to another application's row does not open. Without that secret configured
 * the method cannot be chosen (ClientAdmin says so).
 */
import { hkdfSync } from 'node:crypto';
import { KeyEncryptionError, open, seal } from './key-encryption.js';

const secretsKey = (kek: string) =>
  Buffer.from(hkdfSync('sha256', kek, 'latchkey', 'latchkey client secrets v1', 32));

export const CLIENT_SECRET_JWT_NEEDS_KEK =
  'client_secret_jwt needs LATCHKEY_KEY_ENCRYPTION_KEY: the server must keep the secret itself (sealed) to check HMACs';

export function sealClientSecret(kek: string, clientId: string, secret: string): string {
  return seal(secretsKey(kek), `client:${clientId}`, secret);
}

/** The secret, or undefined when it cannot be opened (no or another LATCHKEY_KEY_ENCRYPTION_KEY). */
export function openClientSecret(
  kek: string | undefined,
  clientId: string,
  sealed: string,
): string | undefined {
  if (kek === undefined) return undefined;
  try {
    return open(secretsKey(kek), `client:${clientId}`, sealed);
  } catch (err) {
    if (err instanceof KeyEncryptionError) return undefined;
    throw err;
  }
}
