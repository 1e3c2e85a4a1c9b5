/**
 * Passkeys on the account page:
 * - GET /account/passkeys/new: the page that creates one (a registration ceremony whose
 *   challenge is bound to this session), after a recent sign-in, so that the ceremony is not
 *   followed by a sign-in that loses it;
 * - POST /account/passkeys: the browser's registration response (auth/passkeys.ts checks it).
 *   A new passkey proves nothing about this session (as in the sign-in's enrolment): where the
 *   policy asks a person with a factor for it, the page asks for the passkey next;
 * - POST /account/passkeys/:id/rename and /remove: only the person's own (the stores are scoped
 *   by user: another person's id is "not on your account"); the last factor of a person who must
 *   keep one stays (factors.ts).
 */
import type { FastifyReply, RouteHandlerMethod } from 'fastify';
import { cleanName, credentialField, PasskeyError } from '../../../auth/passkeys.js';
import type { ServerContext } from '../../../context.js';
import { randomToken } from '../../../crypto.js';
import { newPasskeyPage } from '../../../ui/account-pages.js';
import { sendHtml } from '../../respond.js';
import {
  afterFactorAdded,
  dropRecoveryCodesIfNoFactor,
  factorsOf,
  KEEP_A_FACTOR,
  mustKeepAFactor,
} from './factors.js';
import { renderAccount } from './home.js';
import { type AccountRequest, accountRoute, idParam, seeOther } from './page.js';

const NOT_YOURS = 'That passkey is not on your account (it may have been removed already).';

async function renderNewPasskey(
  ctx: ServerContext,
  reply: FastifyReply,
  a: AccountRequest,
  status: number,
  error?: string,
): Promise<FastifyReply> {
  const nonce = randomToken(16);
  const options = await ctx.factors.passkeys.registrationOptions(a.signedIn.user, a.signedIn.session.idHash);
  reply.header('x-latchkey-script-nonce', nonce);
  return sendHtml(
    reply,
    status,
    newPasskeyPage({
      passkey: { action: '/account/passkeys', csrf: a.csrf, options, mode: 'register', nonce },
      rpId: ctx.factors.passkeys.rpId,
      ...(error !== undefined ? { error } : {}),
    }),
  );
}

export function getNewPasskey(ctx: ServerContext): RouteHandlerMethod {
  return accountRoute(ctx, 'change', async (_req, reply, a) => renderNewPasskey(ctx, reply, a, 200), {
    returnTo: '/account/passkeys/new',
  });
}

export function postPasskey(ctx: ServerContext): RouteHandlerMethod {
  return accountRoute(ctx, 'change', async (req, reply, a) => {
    try {
      await ctx.factors.passkeys.register(
        a.signedIn.user,
        a.signedIn.session.idHash,
        credentialField(req.body),
        a.params.get('name'),
      );
    } catch (err) {
      if (!(err instanceof PasskeyError)) throw err;
      return renderNewPasskey(ctx, reply, a, 400, err.message);
    }
    return afterFactorAdded(ctx, req, reply, a, 'passkey-added');
  });
}

export function postPasskeyRename(ctx: ServerContext): RouteHandlerMethod {
  return accountRoute(ctx, 'change', async (req, reply, a) => {
    const id = idParam(req);
    const name = cleanName(a.params.get('name'));
    if (name === undefined)
      return renderAccount(ctx, reply, a, {
        status: 400,
        error: { section: 'passkeys', message: 'Enter a name for the passkey (at most 64 characters).' },
      });
    if (!id || !(await ctx.storage.factors.renamePasskey(a.signedIn.user.id, id, name)))
      return renderAccount(ctx, reply, a, {
        status: 404,
        error: { section: 'passkeys', message: NOT_YOURS },
      });
    await ctx.audit.record('passkey_renamed', {
      userId: a.signedIn.user.id,
      ip: req.ip,
      detail: { via: 'account', passkey: id },
    });
    return seeOther(reply, '/account?done=passkey-renamed');
  });
}

export function postPasskeyRemove(ctx: ServerContext): RouteHandlerMethod {
  return accountRoute(ctx, 'change', async (req, reply, a) => {
    const id = idParam(req);
    const userId = a.signedIn.user.id;
    const factors = await factorsOf(ctx, userId);
    if (!factors.passkeys.some((p) => p.id === id))
      return renderAccount(ctx, reply, a, {
        status: 404,
        error: { section: 'passkeys', message: NOT_YOURS },
      });
    if (factors.count === 1 && (await mustKeepAFactor(ctx, userId)))
      return renderAccount(ctx, reply, a, {
        status: 409,
        error: { section: 'passkeys', message: KEEP_A_FACTOR },
      });
    if (!(await ctx.storage.factors.removePasskey(userId, id)))
      return renderAccount(ctx, reply, a, {
        status: 404,
        error: { section: 'passkeys', message: NOT_YOURS },
      });
    await ctx.audit.record('passkey_removed', {
      userId,
      ip: req.ip,
      detail: { via: 'account', passkey: id },
    });
    const last = await dropRecoveryCodesIfNoFactor(ctx, req, userId);
    return seeOther(reply, `/account?done=${last ? 'last-factor-removed' : 'passkey-removed'}`);
  });
}
