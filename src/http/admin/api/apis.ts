/**
 * The admin API's APIs (resource servers) under /admin/api/apis: list, create, read, change,
 * delete. `:id` is the API's identifier, URL-encoded (`/admin/api/apis/https%3A%2F%2Fapi.example.com`).
 * The JSON is `apis … --json`'s (describeApi).
 */
import type { RouteHandlerMethod } from 'fastify';
import { AdminActions } from '../../../admin/actions.js';
import { type ApiSettingsPatch, describeApi } from '../../../admin/apis.js';
import type { ServerContext } from '../../../context.js';
import type { ApiScope, ApiTokenAlg } from '../../../storage/types.js';
import { authenticate } from './auth.js';
import { bad, bool, idOf, type Json, jsonBody, mapped, notFound, send, str } from './json.js';

const FIELDS = ['name', 'scopes', 'access_token_ttl', 'token_alg', 'allow_dynamic_clients'] as const;
const NO_API = 'No API has this identifier.';

/** scopes: an array of {value, description}; the values are checked by ApiAdmin. */
function scopesOf(b: Json): ApiScope[] | undefined {
  const v = b['scopes'];
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw bad('scopes must be an array of {"value", "description"}.');
  return v.map((s) => {
    if (s === null || typeof s !== 'object' || Array.isArray(s))
      throw bad('scopes must be an array of {"value", "description"}.');
    const { value, description, ...rest } = s as Json;
    if (Object.keys(rest).length > 0)
      throw bad(`Unknown field in a scope: ${Object.keys(rest)[0]!.slice(0, 40)}.`);
    if (typeof value !== 'string') throw bad('Each scope needs a string value.');
    if (description !== undefined && typeof description !== 'string')
      throw bad('A scope description must be a string.');
    return { value, description: description ?? '' };
  });
}

/** access_token_ttl: seconds, or null for the server's. */
function ttlOf(b: Json): number | null | undefined {
  const v = b['access_token_ttl'];
  if (v === undefined || v === null) return v;
  if (typeof v !== 'number') throw bad('access_token_ttl must be a number of seconds or null.');
  return v;
}

function algOf(b: Json): ApiTokenAlg | null | undefined {
  const v = b['token_alg'];
  if (v === undefined || v === null) return v;
  if (v !== 'RS256' && v !== 'ES256') throw bad('token_alg must be RS256, ES256 or null.');
  return v;
}

function patchOf(b: Json): ApiSettingsPatch {
  const patch: ApiSettingsPatch = {};
  const name = str(b, 'name');
  if (name !== undefined) patch.name = name;
  const scopes = scopesOf(b);
  if (scopes !== undefined) patch.scopes = scopes;
  const ttl = ttlOf(b);
  if (ttl !== undefined) patch.accessTokenTtl = ttl;
  const alg = algOf(b);
  if (alg !== undefined) patch.tokenAlg = alg;
  const dyn = bool(b, 'allow_dynamic_clients');
  if (dyn !== undefined) patch.allowDynamicClients = dyn;
  return patch;
}

/** GET /admin/api/apis: every API, the default first. */
export function listApis(ctx: ServerContext): RouteHandlerMethod {
  return async (req, reply) => {
    await authenticate(ctx, req);
    const apis = await ctx.apis.list();
    return send(
      reply,
      200,
      apis.map((a) => describeApi(a, ctx.config.audience)),
    );
  };
}

/** POST /admin/api/apis: 201 with the new API. */
export function createApi(ctx: ServerContext): RouteHandlerMethod {
  const actions = new AdminActions(ctx);
  return async (req, reply) => {
    const actor = await authenticate(ctx, req);
    const b = jsonBody(req, ['identifier', ...FIELDS]);
    const identifier = str(b, 'identifier', true);
    const name = str(b, 'name', true);
    const api = await mapped(() => actions.createApi(actor, { ...patchOf(b), identifier, name }));
    return send(reply, 201, describeApi(api, ctx.config.audience));
  };
}

/** GET /admin/api/apis/:id. */
export function getApi(ctx: ServerContext): RouteHandlerMethod {
  return async (req, reply) => {
    await authenticate(ctx, req);
    const api = await ctx.apis.get(idOf(req));
    if (!api) throw notFound(NO_API);
    return send(reply, 200, describeApi(api, ctx.config.audience));
  };
}

/** PATCH /admin/api/apis/:id: changes the settings given, at least one. */
export function updateApi(ctx: ServerContext): RouteHandlerMethod {
  const actions = new AdminActions(ctx);
  return async (req, reply) => {
    const actor = await authenticate(ctx, req);
    const patch = patchOf(jsonBody(req, FIELDS));
    if (Object.keys(patch).length === 0) throw bad('Give at least one setting to change.');
    const api = await mapped(() => actions.updateApi(actor, idOf(req), patch));
    if (!api) throw notFound(NO_API);
    return send(reply, 200, describeApi(api, ctx.config.audience));
  };
}

/** DELETE /admin/api/apis/:id (not the default API: 400). */
export function deleteApi(ctx: ServerContext): RouteHandlerMethod {
  const actions = new AdminActions(ctx);
  return async (req, reply) => {
    const actor = await authenticate(ctx, req);
    if (!(await mapped(() => actions.deleteApi(actor, idOf(req))))) throw notFound(NO_API);
    return send(reply, 200, { identifier: idOf(req), deleted: true });
  };
}
