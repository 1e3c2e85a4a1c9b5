/**
 * `latchkey/client`: the native-app / SPA side of the Authorization Code Flow with PKCE.
 * This module and what it imports statically are browser-safe (fetch, WebCrypto, jose). The
 * Node-only helpers (loopback receiver, token file) are loaded on demand by the two functions
 * at the end, or directly from `./node.js`.
 */
import type { LoopbackOptions, LoopbackReceiver } from './loopback.js';
import type { FileTokenStore } from './token-store.js';

export {
  type AuthChallenge,
  parseStepUpChallenge,
  parseWwwAuthenticate,
  type StepUpChallenge,
  stepUpRequired,
} from './challenge.js';
export {
  type AuthorizationRequest,
  type CallbackParams,
  type ClientOptions,
  DEVICE_CODE_GRANT_TYPE,
  type DeviceAuthorization,
  discover,
  LatchkeyClient,
  type ServerMetadata,
  type SleepFn,
  type StepUpHandler,
  type TokenSet,
} from './client.js';
export { type DpopAlgorithm, DpopKey, type DpopProofInput, htuOf } from './dpop.js';
export { LatchkeyError, type LatchkeyErrorCode, StepUpRequiredError } from './errors.js';
export type { LoopbackOptions, LoopbackReceiver } from './loopback.js';
export { computeChallenge, createPkcePair, type PkcePair, VERIFIER_PATTERN } from './pkce.js';
export type { FileTokenStore, StoredSession } from './token-store.js';

/** Starts the RFC 8252 loopback redirect receiver (Node only). */
export async function startLoopbackReceiver(opts: LoopbackOptions): Promise<LoopbackReceiver> {
  const m = await import('./loopback.js');
  return m.listenLoopback(opts);
}

/** Opens the token file store (Node only); default directory per `defaultConfigDir()`. */
export async function openTokenStore(dir?: string): Promise<FileTokenStore> {
  const m = await import('./token-store.js');
  return new m.FileTokenStore(dir);
}
