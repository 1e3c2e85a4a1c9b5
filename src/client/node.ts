/** The Node-only parts of the client SDK: loopback receiver and file token storage. */
export { type LoopbackOptions, type LoopbackReceiver, listenLoopback } from './loopback.js';
export { defaultConfigDir, FileTokenStore, type StoredSession } from './token-store.js';
