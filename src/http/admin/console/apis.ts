/**
 * The admin console's API pages under /admin/apis, beside Applications: the list (the default API
 * first), "Add API", one API's settings and its deletion with a confirmation page. Settings are
 * checked by ApiAdmin (src/admin/apis.ts), as the CLI's and the admin API's are; bad input
 * re-renders the form with a 400 and the message. An identifier in a path is URL-encoded.
 */
import type { FastifyRequest, RouteHandlerMethod } from 'fastify';
import { AdminActions } from '../../../admin/actions.js';
import { type ApiSettingsPatch, parseScopeArgument } from '../../../admin/apis.js';
import type { ServerContext } from '../../../context.js';
import { parseDuration } from '../../../duration.js';
import { OAuthError } from '../../../protocol/errors.js';
import type { ApiScope, ApiTokenAlg } from '../../../storage/types.js';
import {
  type ApiForm,
  type ApiServerDefaults,
  apiFormOf,
  apiPage,
  apisPage,
  deleteApiPage,
  newApiPage,
} from '../../../ui/admin/pages.js';
import { sendHtml } from '../../respond.js';
import { type AdminRequest, inputMessage, page, seeOther, sentence } from './page.js';

class FormError extends Error {}

const noApi = () => new OAuthError('not_found', 'No API has this identifier.', { status: 404 });
const identifierOf = (req: FastifyRequest): string => (req.params as { identifier: string }).identifier;
const apiPath = (identifier: string) => `/admin/apis/${encodeURIComponent(identifier)}`;

const defaultsOf = (ctx: ServerContext): ApiServerDefaults => ({
  accessTokenTtlSec: ctx.config.accessTokenTtlSec,
  accessTokenAlg: ctx.config.accessTokenAlg,
});

/** The form as typed, so a refused one comes back as it was. */
function formOf(p: AdminRequest['params'], current?: ApiForm): ApiForm {
  return {
    identifier: p.get('identifier') ?? current?.identifier ?? '',
    name: p.get('name') ?? current?.name ?? '',
    scopes: p.get('scopes') ?? current?.scopes ?? '',
    accessTokenTtl: p.get('access_token_ttl') ?? current?.accessTokenTtl ?? '',
    tokenAlg: p.get('token_alg') ?? current?.tokenAlg ?? '',
    // An unchecked box sends nothing: the hidden field says the box was on the form.
    allowDynamicClients: p.has('dynamic_clients_field')
      ? p.get('allow_dynamic_clients') === 'yes'
      : (current?.allowDynamicClients ?? false),
  };
}

/** The settings of the form: scopes one per line (`value=Description`), times as durations. */
function settingsOf(f: ApiForm): Required<Omit<ApiSettingsPatch, 'name'>> & { name: string } {
  const scopes: ApiScope[] = f.scopes
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
    .map(parseScopeArgument);
  const ttlText = f.accessTokenTtl.trim();
  let accessTokenTtl: number | null = null;
  if (ttlText !== '') {
    const sec = parseDuration(ttlText);
    if (sec === undefined)
      throw new FormError('The access token lifetime must be seconds or a duration such as 15m.');
    accessTokenTtl = sec;
  }
  if (f.tokenAlg !== '' && f.tokenAlg !== 'RS256' && f.tokenAlg !== 'ES256')
    throw new FormError('The token algorithm must be RS256, ES256 or the server default.');
  return {
    name: f.name,
    scopes,
    accessTokenTtl,
    tokenAlg: f.tokenAlg === '' ? null : (f.tokenAlg as ApiTokenAlg),
    allowDynamicClients: f.allowDynamicClients,
  };
}

/** GET /admin/apis: every API, the default first (with a notice after a deletion). */
export function getApis(ctx: ServerContext): RouteHandlerMethod {
  return page(ctx, 'apis', async (_req, reply, a) => {
    const notice = a.params.get('deleted') === '1' ? 'The API was deleted.' : undefined;
    return sendHtml(
      reply,
      200,
      apisPage({
        chrome: a.chrome,
        apis: await ctx.apis.list(),
        defaultIdentifier: ctx.apis.defaultIdentifier,
        serverDefaults: defaultsOf(ctx),
        ...(notice ? { notice } : {}),
      }),
    );
  });
}

/** GET /admin/apis/new: the "Add API" form. */
export function getNewApi(ctx: ServerContext): RouteHandlerMethod {
  return page(ctx, 'apis', async (_req, reply, a) =>
    sendHtml(
      reply,
      200,
      newApiPage({ chrome: a.chrome, form: formOf(a.params), serverDefaults: defaultsOf(ctx) }),
    ),
  );
}

/** POST /admin/apis: registers the API, then shows its page. */
export function postApi(ctx: ServerContext): RouteHandlerMethod {
  const actions = new AdminActions(ctx);
  return page(ctx, 'apis', async (_req, reply, a) => {
    const form = formOf(a.params);
    const again = (error: string) =>
      sendHtml(reply, 400, newApiPage({ chrome: a.chrome, form, serverDefaults: defaultsOf(ctx), error }));
    try {
      if (a.params.malformed.length > 0) throw new FormError('A field is too long or malformed.');
      const api = await actions.createApi(a.actor, {
        identifier: form.identifier.trim(),
        ...settingsOf(form),
      });
      return seeOther(reply, `${apiPath(api.identifier)}?created=1`);
    } catch (err) {
      if (err instanceof FormError) return again(err.message);
      const msg = inputMessage(err);
      if (msg) return again(sentence(msg));
      throw err;
    }
  });
}

/** GET /admin/apis/:identifier: the API's facts and settings form. */
export function getApi(ctx: ServerContext): RouteHandlerMethod {
  return page(ctx, 'apis', async (req, reply, a) => {
    const api = await ctx.apis.get(identifierOf(req));
    if (!api) throw noApi();
    const notice =
      a.params.get('saved') === '1'
        ? 'Settings saved.'
        : a.params.get('created') === '1'
          ? 'The API was created.'
          : undefined;
    return sendHtml(
      reply,
      200,
      apiPage({
        chrome: a.chrome,
        api,
        isDefault: ctx.apis.isDefault(api.identifier),
        form: apiFormOf(api),
        serverDefaults: defaultsOf(ctx),
        ...(notice ? { notice } : {}),
      }),
    );
  });
}

/** POST /admin/apis/:identifier: saves the settings form. */
export function postApiSettings(ctx: ServerContext): RouteHandlerMethod {
  const actions = new AdminActions(ctx);
  return page(ctx, 'apis', async (req, reply, a) => {
    const api = await ctx.apis.get(identifierOf(req));
    if (!api) throw noApi();
    const form = formOf(a.params, apiFormOf(api));
    const again = (error: string) =>
      sendHtml(
        reply,
        400,
        apiPage({
          chrome: a.chrome,
          api,
          isDefault: ctx.apis.isDefault(api.identifier),
          form,
          serverDefaults: defaultsOf(ctx),
          error,
        }),
      );
    try {
      if (a.params.malformed.length > 0) throw new FormError('A field is too long or malformed.');
      if (!(await actions.updateApi(a.actor, api.identifier, settingsOf(form)))) throw noApi();
      return seeOther(reply, `${apiPath(api.identifier)}?saved=1`);
    } catch (err) {
      if (err instanceof FormError) return again(err.message);
      const msg = inputMessage(err);
      if (msg) return again(sentence(msg));
      throw err;
    }
  });
}

/** GET /admin/apis/:identifier/delete: the confirmation page (the default API has none). */
export function getDeleteApi(ctx: ServerContext): RouteHandlerMethod {
  return page(ctx, 'apis', async (req, reply, a) => {
    const api = await ctx.apis.get(identifierOf(req));
    if (!api) throw noApi();
    if (ctx.apis.isDefault(api.identifier))
      throw new OAuthError('invalid_request', 'The default API (LATCHKEY_AUDIENCE) cannot be deleted.');
    return sendHtml(reply, 200, deleteApiPage({ chrome: a.chrome, api }));
  });
}

/** POST /admin/apis/:identifier/delete: deletes the API once confirmed. */
export function postDeleteApi(ctx: ServerContext): RouteHandlerMethod {
  const actions = new AdminActions(ctx);
  return page(ctx, 'apis', async (req, reply, a) => {
    if (a.params.get('confirm') !== 'yes')
      throw new OAuthError('invalid_request', 'Confirm the deletion on the confirmation page.');
    try {
      if (!(await actions.deleteApi(a.actor, identifierOf(req)))) throw noApi();
    } catch (err) {
      const msg = inputMessage(err);
      if (msg) throw new OAuthError('invalid_request', sentence(msg));
      throw err;
    }
    return seeOther(reply, '/admin/apis?deleted=1');
  });
}
