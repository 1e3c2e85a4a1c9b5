/** Programmatic entry point: embed or test a Latchkey server. */
export { type Clock, ManualClock, offsetClock, systemClock } from './clock.js';
export { type Config, ConfigError, loadConfig } from './config.js';
export { OAuthError } from './protocol/errors.js';
export { createServer, type RunningServer, startServer } from './server.js';
