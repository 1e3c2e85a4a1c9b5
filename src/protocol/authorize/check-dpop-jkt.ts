import { invalidRequest } from '../errors.js';
import type { AuthorizeCheck } from './request.js';

/**
 * RFC 9449 §10: `dpop_jkt`, the SHA-256 JWK thumbprint (RFC 7638, base64url: 43 characters) of
 * the key the client will prove at /token; the code is bound to it. At /par the key of a DPoP
 * proof on that request binds it too (§10.1), and both must then name the same key
 * (src/http/routes/par.ts sets `proofJkt`).
 */
export const checkDpopJkt: AuthorizeCheck = (ctx) => {
  const jkt = ctx.params.get('dpop_jkt');
  if (jkt === undefined) {
    if (ctx.proofJkt !== undefined) ctx.dpopJkt = ctx.proofJkt;
    return;
  }
  if (!/^[A-Za-z0-9_-]{43}$/.test(jkt))
    throw invalidRequest('dpop_jkt must be a SHA-256 JWK thumbprint (43 base64url characters).');
  if (ctx.proofJkt !== undefined && ctx.proofJkt !== jkt)
    throw invalidRequest('dpop_jkt names another key than the DPoP proof of this request.');
  ctx.dpopJkt = jkt;
};
