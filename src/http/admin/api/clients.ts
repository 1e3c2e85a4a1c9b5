/**
 * The admin API's applications under /admin/api/clients: list, create (the secret of a web or
 * service application is in this answer only), read, change settings, delete, rotate the secret.
 * Settings are read by parseClientSettings, as the CLI and the console read them.
 */
import type { RouteHandlerMethod } from 'fastify';
import { AdminActions } from '../../../admin/actions.js';
import {
  CLIENT_SETTING_FIELDS,
  type ParsedSettings,
  parseClientSettings,
} from '../../../admin/client-settings.js';
import { describeClient } from '../../../admin/clients.js';
import type { ServerContext } from '../../../context.js';
import { authenticate } from './auth.js';
import { bad, idOf, type Json, jsonBody, mapped, notFound, send } from './json.js';

/**
 * An application's settings from a JSON body: the fields as they are (times: seconds as numbers,
 * or duration strings such as "15m"), `client_name` standing in for a missing `name`.
 */
function settingsInput(b: Json): Json {
  const { client_name: clientName, ...rest } = b;
  return rest['name'] === undefined && clientName !== undefined ? { ...rest, name: clientName } : rest;
}

/** The settings, or a 400 with the first error's message. */
function settingsOrBad<T>(parsed: ParsedSettings<T>): T {
  if (!parsed.ok) throw bad(parsed.errors[0]!.message);
  return parsed.value;
}

/** GET /admin/api/clients. */
export function listClients(ctx: ServerContext): RouteHandlerMethod {
  return async (req, reply) => {
    await authenticate(ctx, req);
    const clients = await ctx.storage.clients.list();
    return send(
      reply,
      200,
      clients.map((c) => describeClient(c, ctx.config)),
    );
  };
}

/** POST /admin/api/clients: 201 with the new application. */
export function createClient(ctx: ServerContext): RouteHandlerMethod {
  const actions = new AdminActions(ctx);
  return async (req, reply) => {
    const actor = await authenticate(ctx, req);
    const b = jsonBody(req, [...CLIENT_SETTING_FIELDS.create, 'client_name']);
    const input = settingsOrBad(parseClientSettings(settingsInput(b), { mode: 'create' }));
    const { client, secret } = await mapped(() => actions.createClient(actor, input));
    return send(reply, 201, describeClient(client, ctx.config, secret));
  };
}

/** GET /admin/api/clients/:id. */
export function getClient(ctx: ServerContext): RouteHandlerMethod {
  return async (req, reply) => {
    await authenticate(ctx, req);
    const client = await ctx.storage.clients.get(idOf(req));
    if (!client) throw notFound('No application has this client_id.');
    return send(reply, 200, describeClient(client, ctx.config));
  };
}

/** PATCH /admin/api/clients/:id: changes the settings given, at least one. */
export function updateClient(ctx: ServerContext): RouteHandlerMethod {
  const actions = new AdminActions(ctx);
  return async (req, reply) => {
    const actor = await authenticate(ctx, req);
    const b = jsonBody(req, [...CLIENT_SETTING_FIELDS.update, 'client_name']);
    // Times: seconds or a duration string; null goes back to the server default.
    const patch = settingsOrBad(parseClientSettings(settingsInput(b), { mode: 'update' }));
    if (Object.keys(patch).length === 0) throw bad('Give at least one setting to change.');
    const r = await mapped(() => actions.updateClient(actor, idOf(req), patch));
    if (!r) throw notFound('No application has this client_id.');
    // A change of method that needed a new secret returns it, once.
    return send(reply, 200, describeClient(r.client, ctx.config, r.secret));
  };
}

/** DELETE /admin/api/clients/:id. */
export function deleteClient(ctx: ServerContext): RouteHandlerMethod {
  const actions = new AdminActions(ctx);
  return async (req, reply) => {
    const actor = await authenticate(ctx, req);
    if (!(await actions.deleteClient(actor, idOf(req)))) throw notFound('No application has this client_id.');
    return send(reply, 200, { client_id: idOf(req), deleted: true });
  };
}

/** POST /admin/api/clients/:id/rotate-secret: the application with its new secret. */
export function rotateClientSecret(ctx: ServerContext): RouteHandlerMethod {
  const actions = new AdminActions(ctx);
  return async (req, reply) => {
    const actor = await authenticate(ctx, req);
    jsonBody(req, []);
    const r = await mapped(() => actions.rotateSecret(actor, idOf(req)));
    if (!r) throw notFound('No application has this client_id.');
    return send(reply, 200, describeClient(r.client, ctx.config, r.secret));
  };
}
