/**
 * What the DPoP proof checks (protocol/dpop.ts) need from the server: its clock, the replay store
 * and, with LATCHKEY_DPOP_NONCE, its nonces.
 */
import type { FastifyReply } from 'fastify';
import type { ServerContext } from '../context.js';
import type { DpopDeps } from '../protocol/dpop.js';

export const dpopDeps = (ctx: ServerContext): DpopDeps => ({
  now: () => ctx.clock.now(),
  useJti: (key, expiresAt) => ctx.storage.replays.use(key, expiresAt, ctx.clock.now()),
  ...(ctx.dpopNonces ? { nonces: ctx.dpopNonces } : {}),
});

/** RFC 9449 §8.2: a successful DPoP response carries the nonce to use next (a fresh one once the window turns). */
export async function sendNonce(ctx: ServerContext, reply: FastifyReply): Promise<void> {
  if (ctx.dpopNonces) reply.header('dpop-nonce', await ctx.dpopNonces.current());
}
