/**
 * The response a refresh-token rotation gave, kept encrypted for the grace window so a retry
 * gets the identical answer. The key is derived from the presented refresh token itself
 * (HMAC-SHA-256 with a fixed label), which the server never stores: only a holder of the
 * token can read the stored successor. AES-256-GCM.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

const keyFor = (refreshToken: string): Buffer =>
  createHmac('sha256', refreshToken).update('latchkey/refresh-successor/v1').digest();

export function sealSuccessor(refreshToken: string, response: object): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyFor(refreshToken), iv);
  const body = Buffer.concat([cipher.update(JSON.stringify(response), 'utf8'), cipher.final()]);
  return [iv, cipher.getAuthTag(), body].map((b) => b.toString('base64url')).join('.');
}

export function openSuccessor<T>(refreshToken: string, sealed: string): T | undefined {
  const [iv, tag, body] = sealed.split('.').map((p) => Buffer.from(p, 'base64url'));
  if (!iv || !tag || !body) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', keyFor(refreshToken), iv);
    decipher.setAuthTag(tag);
    return JSON.parse(Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8')) as T;
  } catch {
    return undefined;
  }
}
