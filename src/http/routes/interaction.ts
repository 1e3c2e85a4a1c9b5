/**
 * Sign-in and consent pages for a pending authorization request. A POST must carry the
 * page's CSRF token and come from the browser that started the request (a SameSite=Lax
 * cookie); each interaction completes once, so a replayed form post gets an error page.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SIGN_IN_MESSAGES, signInWithPassword } from '../../auth/sign-in.js';
import type { ServerContext } from '../../context.js';
import { safeEqual } from '../../crypto.js';
import type { AuthorizationRequest } from '../../protocol/authorize/index.js';
import { invalidRequest, OAuthError } from '../../protocol/errors.js';
import { readParams } from '../../protocol/params.js';
import type { Client, Interaction } from '../../storage/types.js';
import { consentPage, loginPage } from '../../ui/pages.js';
import { needsConsent, respondWithCode } from '../authorize-flow.js';
import { isForm } from '../form.js';
import { sendAuthorizationError, sendHtml } from '../respond.js';
import {
  type ActiveSession,
  cookieValue,
  currentSession,
  INTERACTION_COOKIE,
  startSession,
} from '../session.js';

const ID = /^[A-Za-z0-9_-]{16,64}$/;

interface Loaded {
  interaction: Interaction;
  request: AuthorizationRequest;
  client: Client;
}

const expired = () =>
  new OAuthError(
    'invalid_request',
    'This sign-in page has expired or was already used. Go back to the application and start again.',
  );

export function interactionRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const config = { html: true };

  async function load(req: FastifyRequest): Promise<Loaded> {
    const id = (req.params as { id?: string }).id ?? '';
    if (!ID.test(id)) throw expired();
    const interaction = await ctx.storage.interactions.get(id);
    if (!interaction || interaction.completedAt !== null || interaction.expiresAt <= ctx.clock.now())
      throw expired();
    // Bound to the browser that started it.
    const cookie = cookieValue(req, INTERACTION_COOKIE);
    if (cookie === undefined || !safeEqual(cookie, id)) {
      throw new OAuthError(
        'invalid_request',
        'This sign-in page belongs to another browser window. Go back to the application and start again.',
        {
          status: 403,
        },
      );
    }
    const client = await ctx.storage.clients.get(interaction.clientId);
    if (!client) throw expired();
    return { interaction, request: JSON.parse(interaction.request) as AuthorizationRequest, client };
  }

  function checkPost(req: FastifyRequest, loaded: Loaded) {
    if (!isForm(req)) throw invalidRequest('The form could not be read.');
    const params = readParams(req.body);
    const csrf = params.get('csrf');
    if (
      params.duplicated.includes('csrf') ||
      csrf === undefined ||
      !safeEqual(csrf, loaded.interaction.csrf)
    ) {
      throw new OAuthError(
        'invalid_request',
        'The form was not submitted from the sign-in page (CSRF check failed). Go back to the application and start again.',
        {
          status: 403,
        },
      );
    }
    return params;
  }

  const paths = (id: string) => ({
    login: `/interaction/${id}/login`,
    consent: `/interaction/${id}/consent`,
    cancel: `/interaction/${id}/cancel`,
  });

  const renderLogin = (
    reply: FastifyReply,
    l: Loaded,
    status: number,
    opts: { username?: string; error?: string } = {},
  ) =>
    sendHtml(
      reply,
      status,
      loginPage({
        action: paths(l.interaction.id).login,
        cancelAction: paths(l.interaction.id).cancel,
        csrf: l.interaction.csrf,
        clientName: l.client.name,
        username: opts.username ?? l.request.loginHint ?? undefined,
        ...(opts.error ? { error: opts.error } : {}),
      }),
    );

  const renderConsent = (reply: FastifyReply, l: Loaded, username: string) =>
    sendHtml(
      reply,
      200,
      consentPage({
        action: paths(l.interaction.id).consent,
        csrf: l.interaction.csrf,
        clientName: l.client.name,
        username,
        scopes: l.request.scopes,
      }),
    );

  /** Completes the interaction exactly once, then answers the client. */
  /** Completes the interaction exactly once (a racing or replayed post gets an error page). */
  async function complete(l: Loaded): Promise<void> {
    if (!(await ctx.storage.interactions.complete(l.interaction.id, ctx.clock.now()))) throw expired();
  }

  async function finish(reply: FastifyReply, l: Loaded, signedIn: ActiveSession): Promise<FastifyReply> {
    await complete(l);
    return respondWithCode(ctx, reply, l.request, signedIn);
  }

  /** The session the interaction was signed in with, if this browser still holds it. */
  async function interactionSession(req: FastifyRequest, l: Loaded): Promise<ActiveSession | undefined> {
    const s = await currentSession(ctx, req);
    if (!s || l.interaction.userId === null || s.session.idHash !== l.interaction.sessionHash)
      return undefined;
    return s;
  }

  app.get('/interaction/:id', { config }, async (req, reply) => {
    const l = await load(req);
    if (l.interaction.userId === null) return renderLogin(reply, l, 200);
    const s = await interactionSession(req, l);
    if (!s) throw expired();
    return renderConsent(reply, l, s.user.username);
  });

  app.post('/interaction/:id/login', { config }, async (req, reply) => {
    const l = await load(req);
    const params = checkPost(req, l);
    const result = await signInWithPassword(ctx.signIn, {
      username: params.get('username') ?? '',
      password: params.get('password') ?? '',
      ip: req.ip,
      via: 'sign-in',
      clientId: l.client.clientId,
    });
    if (result.outcome === 'missing')
      return renderLogin(reply, l, 400, { username: result.username, error: result.message });
    if (result.outcome === 'throttled') {
      reply.header('retry-after', String(result.retryAfterSec));
      return renderLogin(reply, l, 429, { username: result.username, error: result.message });
    }
    if (result.outcome !== 'ok')
      return renderLogin(reply, l, 401, { username: result.username, error: SIGN_IN_MESSAGES.failed });
    const user = result.user;
    const signedIn = await startSession(ctx, reply, user);
    await ctx.storage.interactions.setUser(
      l.interaction.id,
      user.id,
      signedIn.session.idHash,
      signedIn.session.authTime,
    );
    if (await needsConsent(ctx, l.client, l.request, user.id)) {
      return reply.code(303).header('location', `/interaction/${l.interaction.id}`).send();
    }
    return finish(reply, l, signedIn);
  });

  app.post('/interaction/:id/consent', { config }, async (req, reply) => {
    const l = await load(req);
    const params = checkPost(req, l);
    const s = await interactionSession(req, l);
    if (!s) throw expired();
    const decision = params.get('decision');
    if (decision !== 'allow' && decision !== 'deny') throw invalidRequest('Choose Allow or Deny.');
    if (decision === 'deny') {
      await complete(l);
      await ctx.audit.record('consent_denied', {
        clientId: l.client.clientId,
        userId: s.user.id,
        ip: req.ip,
      });
      return sendAuthorizationError(
        ctx,
        reply,
        l.request,
        new OAuthError('access_denied', 'The user denied the request.'),
      );
    }
    // Completed first: a racing Deny that won leaves no consent behind.
    await complete(l);
    await ctx.storage.consents.save({
      userId: s.user.id,
      clientId: l.client.clientId,
      scope: l.request.scopes.join(' '),
      createdAt: ctx.clock.now(),
    });
    await ctx.audit.record('consent_granted', {
      clientId: l.client.clientId,
      userId: s.user.id,
      ip: req.ip,
      detail: { scope: l.request.scopes.join(' ') },
    });
    return respondWithCode(ctx, reply, l.request, s);
  });

  app.post('/interaction/:id/cancel', { config }, async (req, reply) => {
    const l = await load(req);
    checkPost(req, l);
    await complete(l);
    return sendAuthorizationError(
      ctx,
      reply,
      l.request,
      new OAuthError('access_denied', 'The user cancelled the sign-in.'),
    );
  });
}
