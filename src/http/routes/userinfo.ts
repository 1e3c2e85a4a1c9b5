/**
 * UserInfo (OIDC Core §5.3): GET, POST with the Bearer header, POST with access_token in the
 * body (RFC 6750 §2). One handler, serveUserinfo, for both methods; bearerToken finds the token.
 */
import type { FastifyInstance, FastifyRequest, RouteHandlerMethod } from 'fastify';
import type { ServerContext } from '../../context.js';
import { checkDpopProof, DPOP_ALGS, DpopNonceError } from '../../protocol/dpop.js';
import { invalidRequest, invalidToken, OAuthError } from '../../protocol/errors.js';
import { claimsFor } from '../../protocol/grants/issue-tokens.js';
import { readParams } from '../../protocol/params.js';
import { hasScope } from '../../protocol/scopes.js';
import { boundKey, verifyAccessToken } from '../../tokens/verify.js';
import { dpopDeps, sendNonce } from '../dpop.js';
import { isForm } from '../form.js';

export function userinfoRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const handle = serveUserinfo(ctx);
  app.get('/userinfo', { config: { cors: true } }, handle);
  app.post('/userinfo', { config: { cors: true } }, handle);
}

/** GET and POST /userinfo: the claims of the token's user that its scopes allow. */
export function serveUserinfo(ctx: ServerContext): RouteHandlerMethod {
  return async (req, reply) => {
    const { token, scheme } = presentedToken(req);
    const verified = await verifyAccessToken(ctx, token);
    if (!verified || verified.revoked) throw invalidToken('The access token is invalid, expired or revoked.');
    const { payload } = verified;
    const bound = await checkSenderConstraint(ctx, req, token, scheme, boundKey(payload));
    if (!hasScope(payload.scope, 'openid')) {
      throw new OAuthError('insufficient_scope', 'The access token does not carry the openid scope.', {
        status: 403,
        headers: {
          'www-authenticate': 'Bearer realm="latchkey", error="insufficient_scope", scope="openid"',
        },
      });
    }
    const user = await ctx.storage.users.getById(payload.sub);
    if (!user || user.disabled) throw invalidToken('The user of this access token can no longer sign in.');
    if (bound) await sendNonce(ctx, reply);
    return reply
      .header('cache-control', 'no-store')
      .send({ sub: user.id, ...claimsFor(user, payload.scope) });
  };
}

/**
 * RFC 9449 §7: a DPoP-bound token comes with the `DPoP` scheme and a proof of its key for this
 * request (`ath` its hash); as a Bearer token it is refused. An unbound token under the DPoP
 * scheme is refused too. True when the token was bound (and its proof checked).
 */
async function checkSenderConstraint(
  ctx: ServerContext,
  req: FastifyRequest,
  token: string,
  scheme: 'Bearer' | 'DPoP',
  jkt: string | undefined,
): Promise<boolean> {
  const challenge = (error: string, description: string) =>
    new OAuthError(error === 'invalid_dpop_proof' ? 'invalid_dpop_proof' : 'invalid_token', description, {
      status: 401,
      headers: {
        'www-authenticate': `DPoP algs="${DPOP_ALGS.join(' ')}", error="${error}", error_description="${description}"`,
      },
    });
  if (jkt === undefined) {
    if (scheme === 'DPoP') throw challenge('invalid_token', 'This access token is not bound to a DPoP key.');
    return false;
  }
  if (scheme !== 'DPoP')
    throw challenge(
      'invalid_token',
      'This access token is bound to a DPoP key: use the DPoP scheme with a proof.',
    );
  let proof: Awaited<ReturnType<typeof checkDpopProof>>;
  try {
    proof = await checkDpopProof(
      {
        header: req.headers.dpop,
        method: req.method,
        uri: `${ctx.config.issuer}/userinfo`,
        accessToken: token,
      },
      dpopDeps(ctx),
    );
  } catch (err) {
    // RFC 9449 §9: a resource server's nonce is asked for with a 401 challenge, not a 400.
    if (err instanceof DpopNonceError)
      throw new OAuthError('use_dpop_nonce', err.description, {
        status: 401,
        headers: {
          'www-authenticate': `DPoP algs="${DPOP_ALGS.join(' ')}", error="use_dpop_nonce", error_description="${err.description}"`,
          'dpop-nonce': err.nonce,
        },
      });
    if (err instanceof OAuthError) throw challenge('invalid_dpop_proof', err.description);
    throw err;
  }
  if (!proof) throw challenge('invalid_dpop_proof', 'A DPoP proof is required with this access token.');
  if (proof.jkt !== jkt)
    throw challenge(
      'invalid_dpop_proof',
      'The DPoP proof is made with another key than the token is bound to.',
    );
  return true;
}

/** RFC 6750 §2 (and RFC 9449 §7.1 for DPoP): exactly one method; header or (POST form) body, never the query. */
export function presentedToken(req: FastifyRequest): { token: string; scheme: 'Bearer' | 'DPoP' } {
  const header = req.headers.authorization;
  let body: string | undefined;
  if (req.method === 'POST' && req.body !== undefined && req.body !== null) {
    if (!isForm(req)) throw invalidRequest('The request body must be application/x-www-form-urlencoded.');
    const params = readParams(req.body);
    if (params.duplicated.includes('access_token'))
      throw invalidRequest('access_token was given more than once.');
    body = params.get('access_token');
  }
  if (header !== undefined && body !== undefined)
    throw invalidRequest('Send the access token in one place only.');
  if (header !== undefined) {
    const m = /^(Bearer|DPoP) +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
    if (!m) throw invalidToken('The Authorization header is not a Bearer or DPoP token.');
    return { token: m[2]!, scheme: m[1]!.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer' };
  }
  if (body !== undefined) return { token: body, scheme: 'Bearer' };
  throw new OAuthError('invalid_token', 'An access token is required.', {
    status: 401,
    headers: { 'www-authenticate': 'Bearer realm="latchkey"' },
  });
}
