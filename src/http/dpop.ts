/** What the DPoP proof checks (protocol/dpop.ts) need from the server: its clock and the replay store. */
import type { ServerContext } from '../context.js';
import type { DpopDeps } from '../protocol/dpop.js';

export const dpopDeps = (ctx: ServerContext): DpopDeps => ({
  now: () => ctx.clock.now(),
  useJti: (key, expiresAt) => ctx.storage.replays.use(key, expiresAt, ctx.clock.now()),
});
