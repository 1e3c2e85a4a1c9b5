import { invalidRequest } from '../errors.js';
import { parRequired } from '../par.js';
import type { AuthorizeCheck } from './request.js';

/**
 * RFC 9126 §5: an application (or the server, LATCHKEY_REQUIRE_PAR) that requires pushed
 * requests gets none from the front channel. Runs before the redirect URI is trusted: the
 * refusal is an error page.
 */
export const checkPushed: AuthorizeCheck = (ctx, deps) => {
  if (ctx.via === 'front' && parRequired(ctx.client!, deps.requirePar))
    throw invalidRequest(
      'This application must push its authorization requests to the pushed authorization request endpoint (/par) first.',
    );
};
