/**
 * Express (and Connect-style) integration: `(req, res, next)` middleware. Failures become
 * RFC 6750 responses; the verified token is on `req.auth`. express is imported as a type only.
 *
 *   app.get('/hello', expressRequireToken(verifier), (req, res) => res.json(req.auth.claims))
 */
import type { NextFunction, Request, Response } from 'express';
import {
  authenticate,
  checkGuardOptions,
  type GuardOptions,
  requestUrl,
  toVerificationError,
} from './bearer.js';
import { errorBody, failureHeaders } from './errors.js';
import { checkResourceMetadataUrl, withResourceMetadata } from './protected-resource.js';
import type { AccessTokenVerifier, VerifiedAccessToken } from './verifier.js';

export type RequestWithAuth = Request & { auth?: VerifiedAccessToken };

export function expressRequireToken(
  verifier: AccessTokenVerifier,
  opts: GuardOptions = {},
): (req: Request, res: Response, next: NextFunction) => void {
  checkGuardOptions(opts, 'expressRequireToken');
  checkResourceMetadataUrl(opts.resourceMetadataUrl);
  return (req, res, next) => {
    const parts = {
      authorization: req.headers.authorization,
      dpop: req.headers['dpop'],
      method: req.method,
      url: requestUrl(opts.publicOrigin, req.protocol, req.get('host') ?? '', req.originalUrl),
    };
    authenticate(verifier, parts, opts).then(
      (verified) => {
        (req as RequestWithAuth).auth = verified;
        // RFC 9449 §9: the nonce for the client's next proof comes with the response.
        if (verified.dpopNonce !== undefined) res.setHeader('dpop-nonce', verified.dpopNonce);
        next();
      },
      (e: unknown) => {
        const err = toVerificationError(e);
        res
          .status(err.status)
          .set(withResourceMetadata(failureHeaders(err, opts.realm), opts.resourceMetadataUrl));
        res.json(err.code === 'LATCHKEY_TOKEN_MISSING' ? { error: 'unauthorized' } : errorBody(err));
      },
    );
  };
}
