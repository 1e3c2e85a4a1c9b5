/**
 * The admin console's application pages under /admin/applications: the list, "Add Application"
 * (choose the platform, then the form), one application's settings, secret rotation and deletion
 * with its confirmation page. Settings are read by parseClientSettings, as the admin API and the
 * CLI read them; bad input re-renders the form with a 400 and the message.
 */
import type { RouteHandlerMethod } from 'fastify';
import { AdminActions } from '../../../admin/actions.js';
import { parseAllowedApi, parseClientSettings } from '../../../admin/client-settings.js';
import { CLIENT_TYPES } from '../../../admin/clients.js';
import type { ServerContext } from '../../../context.js';
import { OAuthError } from '../../../protocol/errors.js';
import {
  applicationCreatedPage,
  applicationPage,
  applicationsPage,
  deleteApplicationPage,
  newApplicationPage,
  type SettingsForm,
  secretRotatedPage,
  settingsFormOf,
} from '../../../ui/admin/pages.js';
import { sendHtml } from '../../respond.js';
import { idOf, inputMessage, page, seeOther, sentence } from './page.js';

const lines = (v: string | undefined): string[] =>
  (v ?? '')
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

class FormError extends Error {}

const noClient = () => new OAuthError('not_found', 'No application has this client_id.', { status: 404 });

/** GET /admin/applications: the list (with a notice after a deletion). */
export function getApplications(ctx: ServerContext): RouteHandlerMethod {
  return page(ctx, 'applications', async (_req, reply, a) => {
    const clients = await ctx.storage.clients.list();
    const notice = a.params.get('deleted') === '1' ? 'The application was deleted.' : undefined;
    return sendHtml(
      reply,
      200,
      applicationsPage({ chrome: a.chrome, clients, ...(notice ? { notice } : {}) }),
    );
  });
}

/** GET /admin/applications/new: the "Add Application" form for the chosen platform. */
export function getNewApplication(ctx: ServerContext): RouteHandlerMethod {
  return page(ctx, 'applications', async (_req, reply, a) => {
    const t = a.params.get('type');
    const type = t !== undefined && (CLIENT_TYPES as readonly string[]).includes(t) ? t : 'native';
    return sendHtml(
      reply,
      200,
      newApplicationPage({ chrome: a.chrome, form: { type }, mfaDefault: ctx.config.mfa }),
    );
  });
}

/** POST /admin/applications: registers the application and shows its client_id (and secret). */
export function postApplication(ctx: ServerContext): RouteHandlerMethod {
  const actions = new AdminActions(ctx);
  return page(ctx, 'applications', async (_req, reply, a) => {
    const p = a.params;
    const form = {
      type: p.get('type') ?? '',
      name: p.get('name') ?? '',
      redirectUris: p.get('redirect_uris') ?? '',
      postLogoutRedirectUris: p.get('post_logout_redirect_uris') ?? '',
      consent: p.get('consent') ?? 'none',
      mfa: p.get('mfa') ?? 'inherit',
    };
    const again = (error: string) =>
      sendHtml(reply, 400, newApplicationPage({ chrome: a.chrome, form, mfaDefault: ctx.config.mfa, error }));
    if (p.malformed.length > 0) return again('A field is too long or malformed.');
    if (!(CLIENT_TYPES as readonly string[]).includes(form.type))
      return again('Choose the platform: Native, Single-Page App, Web or Service.');
    // The same reading as the admin API and the CLI (src/admin/client-settings.ts).
    const parsed = parseClientSettings(
      {
        name: form.name,
        type: form.type,
        redirect_uris: lines(form.redirectUris),
        post_logout_redirect_uris: lines(form.postLogoutRedirectUris),
        consent: form.consent,
        // inherit: no policy of its own (LATCHKEY_MFA).
        mfa: form.mfa,
      },
      { mode: 'create' },
    );
    if (!parsed.ok) return again(sentence(parsed.errors[0]!.message));
    try {
      const { client, secret } = await actions.createClient(a.actor, parsed.value);
      return sendHtml(
        reply,
        201,
        applicationCreatedPage({ chrome: a.chrome, client, ...(secret !== undefined ? { secret } : {}) }),
      );
    } catch (err) {
      const msg = inputMessage(err);
      if (msg) return again(msg);
      throw err;
    }
  });
}

/** GET /admin/applications/:id: the application's settings form. */
export function getApplication(ctx: ServerContext): RouteHandlerMethod {
  return page(ctx, 'applications', async (req, reply, a) => {
    const client = await ctx.storage.clients.get(idOf(req));
    if (!client) throw noClient();
    const notice = a.params.get('saved') === '1' ? 'Settings saved.' : undefined;
    return sendHtml(
      reply,
      200,
      applicationPage({
        chrome: a.chrome,
        client,
        form: settingsFormOf(client),
        refreshGraceDefault: ctx.config.refreshGraceSec,
        mfaDefault: ctx.config.mfa,
        ...(notice ? { notice } : {}),
      }),
    );
  });
}

/** POST /admin/applications/:id: saves the settings form (fields left out keep their value). */
export function postApplicationSettings(ctx: ServerContext): RouteHandlerMethod {
  const actions = new AdminActions(ctx);
  return page(ctx, 'applications', async (req, reply, a) => {
    const client = await ctx.storage.clients.get(idOf(req));
    if (!client) throw noClient();
    const p = a.params;
    const current = settingsFormOf(client);
    const form: SettingsForm = {
      name: p.get('name') ?? current.name,
      redirectUris: p.get('redirect_uris') ?? current.redirectUris,
      postLogoutRedirectUris: p.get('post_logout_redirect_uris') ?? current.postLogoutRedirectUris,
      consent: p.get('consent') ?? current.consent,
      accessTokenTtl: p.get('access_token_ttl') ?? current.accessTokenTtl,
      refreshTokenTtl: p.get('refresh_token_ttl') ?? current.refreshTokenTtl,
      refreshIdleTtl: p.get('refresh_idle_ttl') ?? current.refreshIdleTtl,
      refreshGrace: p.get('refresh_grace') ?? current.refreshGrace,
      refreshTokens: p.get('refresh_tokens') ?? current.refreshTokens,
      par: p.get('par') ?? current.par,
      authMethod: p.get('token_endpoint_auth_method') ?? current.authMethod,
      jwks: p.get('jwks') ?? current.jwks,
      jwksUri: p.get('jwks_uri') ?? current.jwksUri,
      dpop: p.get('dpop') ?? current.dpop,
      profile: p.get('profile') ?? current.profile,
      mfa: p.get('mfa') ?? current.mfa,
      allowedApis: p.get('allowed_apis') ?? current.allowedApis,
      deviceFlow: p.get('device_flow') ?? current.deviceFlow,
    };
    const again = (error: string) =>
      sendHtml(
        reply,
        400,
        applicationPage({
          chrome: a.chrome,
          client,
          form,
          refreshGraceDefault: ctx.config.refreshGraceSec,
          mfaDefault: ctx.config.mfa,
          error,
        }),
      );
    try {
      if (p.malformed.length > 0) throw new FormError('A field is too long or malformed.');
      // The form's fields are the admin API's names; an empty time is the server default
      // (for the grace, LATCHKEY_REFRESH_GRACE; 0 switches it off). Read as the API and CLI do.
      const input: Record<string, unknown> = {};
      if (p.has('name')) input['name'] = form.name;
      if (p.has('redirect_uris')) input['redirect_uris'] = lines(form.redirectUris);
      if (p.has('post_logout_redirect_uris'))
        input['post_logout_redirect_uris'] = lines(form.postLogoutRedirectUris);
      if (p.has('consent')) input['consent'] = form.consent;
      for (const field of ['access_token_ttl', 'refresh_token_ttl', 'refresh_idle_ttl', 'refresh_grace']) {
        const raw = p.get(field);
        if (raw !== undefined) input[field] = raw.trim() === '' ? null : raw.trim();
      }
      if (p.has('refresh_tokens')) {
        if (form.refreshTokens !== 'on' && form.refreshTokens !== 'off')
          throw new FormError('Refresh tokens must be on or off.');
        input['refresh_tokens'] = form.refreshTokens === 'on';
      }
      if (p.has('par')) {
        if (form.par !== 'required' && form.par !== 'optional')
          throw new FormError('Pushed authorization requests must be required or optional.');
        input['require_pushed_authorization_requests'] = form.par === 'required';
      }
      if (p.has('token_endpoint_auth_method') && form.authMethod !== client.tokenEndpointAuthMethod)
        input['token_endpoint_auth_method'] = form.authMethod;
      // The keys: a changed JWK Set or URL replaces them; both emptied removes them.
      if (p.has('jwks') && form.jwks.trim() !== current.jwks.trim()) {
        if (form.jwks.trim() === '') input['jwks'] = null;
        else {
          try {
            input['jwks'] = JSON.parse(form.jwks);
          } catch {
            throw new FormError('The public keys must be a JWK Set in JSON: {"keys": [...]}.');
          }
        }
      }
      if (p.has('jwks_uri') && form.jwksUri.trim() !== current.jwksUri)
        input['jwks_uri'] = form.jwksUri.trim() === '' ? null : form.jwksUri.trim();
      if (p.has('dpop')) {
        if (form.dpop !== 'required' && form.dpop !== 'optional')
          throw new FormError('DPoP-bound tokens must be required or optional.');
        input['dpop_bound_access_tokens'] = form.dpop === 'required';
      }
      if (p.has('profile') && form.profile !== current.profile) input['profile'] = form.profile;
      // inherit: back to the server's LATCHKEY_MFA.
      if (p.has('mfa') && form.mfa !== current.mfa) input['mfa'] = form.mfa;
      if (p.has('allowed_apis') && form.allowedApis.trim() !== current.allowedApis) {
        const apis = lines(form.allowedApis).map((l) => {
          const a = parseAllowedApi(l);
          if (!a) throw new FormError(`List the scopes after "=" in ${l}, or give the identifier alone.`);
          return a;
        });
        input['allowed_apis'] = apis;
      }
      if (p.has('device_flow') && form.deviceFlow !== current.deviceFlow) {
        if (form.deviceFlow !== 'on' && form.deviceFlow !== 'off')
          throw new FormError('The device flow must be on or off.');
        input[form.deviceFlow === 'on' ? 'add_grants' : 'remove_grants'] = ['device_code'];
      }
      const parsed = parseClientSettings(input, { mode: 'update' });
      if (!parsed.ok) throw new FormError(sentence(parsed.errors[0]!.message));
      const patch = parsed.value;
      const updated = await actions.updateClient(a.actor, client.clientId, patch);
      if (!updated) throw noClient();
      // A change of method that needed a new secret shows it, once.
      if (updated.secret !== undefined)
        return sendHtml(
          reply,
          200,
          secretRotatedPage({ chrome: a.chrome, client: updated.client, secret: updated.secret }),
        );
      return seeOther(reply, `/admin/applications/${encodeURIComponent(client.clientId)}?saved=1`);
    } catch (err) {
      if (err instanceof FormError) return again(err.message);
      const msg = inputMessage(err);
      if (msg) return again(msg);
      throw err;
    }
  });
}

/** POST /admin/applications/:id/rotate-secret: a new client secret, shown once. */
export function postRotateSecret(ctx: ServerContext): RouteHandlerMethod {
  const actions = new AdminActions(ctx);
  return page(ctx, 'applications', async (req, reply, a) => {
    try {
      const r = await actions.rotateSecret(a.actor, idOf(req));
      if (!r) throw noClient();
      return sendHtml(
        reply,
        200,
        secretRotatedPage({ chrome: a.chrome, client: r.client, secret: r.secret }),
      );
    } catch (err) {
      const msg = inputMessage(err);
      if (msg) throw new OAuthError('invalid_request', msg);
      throw err;
    }
  });
}

/** GET /admin/applications/:id/delete: the confirmation page. */
export function getDeleteApplication(ctx: ServerContext): RouteHandlerMethod {
  return page(ctx, 'applications', async (req, reply, a) => {
    const client = await ctx.storage.clients.get(idOf(req));
    if (!client) throw noClient();
    return sendHtml(reply, 200, deleteApplicationPage({ chrome: a.chrome, client }));
  });
}

/** POST /admin/applications/:id/delete: deletes the application once confirmed. */
export function postDeleteApplication(ctx: ServerContext): RouteHandlerMethod {
  const actions = new AdminActions(ctx);
  return page(ctx, 'applications', async (req, reply, a) => {
    if (a.params.get('confirm') !== 'yes')
      throw new OAuthError('invalid_request', 'Confirm the deletion on the confirmation page.');
    if (!(await actions.deleteClient(a.actor, idOf(req)))) throw noClient();
    return seeOther(reply, '/admin/applications?deleted=1');
  });
}
