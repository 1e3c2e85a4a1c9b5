/** `latchkey clients …` */

import { AdminActions } from '../admin/actions.js';
import { ClientInputError, describeClient, effectiveRefreshGrace } from '../admin/clients.js';
import type { ServerContext } from '../context.js';
import type { Client, ClientType, ConsentSetting } from '../storage/types.js';
import { dbOption, jsonOption, parse, print, UsageError } from './args.js';
import { CLI_ACTOR, withContext } from './db.js';

const TYPES = ['native', 'spa', 'web', 'service'];

function seconds(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d{1,9}$/.test(v)) throw new UsageError(`--${name} must be a whole number of seconds`);
  return Number(v);
}

/** --refresh-grace: seconds (0 = off), or `default` for the server's LATCHKEY_REFRESH_GRACE. */
function graceOf(v: string | undefined): number | null | undefined {
  if (v === 'default') return null;
  if (v !== undefined && !/^\d{1,9}$/.test(v))
    throw new UsageError('--refresh-grace must be a whole number of seconds (0 = off) or default');
  return seconds('refresh-grace', v);
}

/** The grace in force, for people: `30 s (server default)`, `0 s (off)`, `10 s`. */
function graceText(client: Client, ctx: ServerContext): string {
  const g = effectiveRefreshGrace(client, ctx.config);
  return `${g.seconds} s${g.seconds === 0 ? ' (off)' : ''}${g.source === 'server' ? ' (server default, LATCHKEY_REFRESH_GRACE)' : ''}`;
}

function consentOf(v: string | undefined): ConsentSetting | undefined {
  if (v === undefined) return undefined;
  if (v !== 'none' && v !== 'required') throw new UsageError('--consent must be none or required');
  return v;
}

export async function clientsCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'create': {
      const { values } = parse(rest, {
        ...dbOption,
        ...jsonOption,
        name: { type: 'string' },
        type: { type: 'string' },
        'redirect-uri': { type: 'string', multiple: true },
        'post-logout-redirect-uri': { type: 'string', multiple: true },
        consent: { type: 'string' },
        'token-endpoint-auth-method': { type: 'string' },
        'no-pkce': { type: 'boolean', default: false },
        'no-refresh-tokens': { type: 'boolean', default: false },
        'refresh-grace': { type: 'string' },
        scope: { type: 'string', multiple: true },
      });
      if (!values.name) throw new UsageError('--name is required');
      if (!values.type || !TYPES.includes(values.type))
        throw new UsageError('--type must be native, spa, web or service');
      const method = values['token-endpoint-auth-method'];
      if (method !== undefined && !['none', 'client_secret_basic', 'client_secret_post'].includes(method)) {
        throw new UsageError(
          '--token-endpoint-auth-method must be none, client_secret_basic or client_secret_post',
        );
      }
      const consent = consentOf(values.consent);
      const refreshGrace = graceOf(values['refresh-grace']);
      await withContext(values.db, async (ctx) => {
        const { client, secret } = await new AdminActions(ctx).createClient(CLI_ACTOR, {
          name: values.name!,
          type: values.type as ClientType,
          redirectUris: values['redirect-uri'] ?? [],
          postLogoutRedirectUris: values['post-logout-redirect-uri'] ?? [],
          ...(consent ? { consent } : {}),
          ...(method ? { tokenEndpointAuthMethod: method as 'none' } : {}),
          ...(values['no-pkce'] ? { requirePkce: false } : {}),
          ...(values['no-refresh-tokens'] ? { refreshTokens: false } : {}),
          ...(refreshGrace !== undefined ? { refreshGrace } : {}),
          ...(values.scope
            ? { allowedScopes: values.scope.flatMap((x) => x.split(' ')).filter(Boolean) }
            : {}),
        });
        print(values.json!, describeClient(client, ctx.config, secret), () =>
          [
            `Created ${client.type} application "${client.name}"`,
            `  client_id: ${client.clientId}`,
            ...(secret ? [`  client_secret: ${secret}   (shown once; store it now)`] : []),
            `  token_endpoint_auth_method: ${client.tokenEndpointAuthMethod}`,
            ...client.redirectUris.map((u) => `  redirect_uri: ${u}`),
            `  consent: ${client.consent}`,
            ...(client.grantTypes.includes('refresh_token')
              ? [`  refresh_grace: ${graceText(client, ctx)}`]
              : []),
          ].join('\n'),
        );
      });
      return;
    }
    case 'list': {
      const { values } = parse(rest, { ...dbOption, ...jsonOption });
      await withContext(values.db, async (ctx) => {
        const clients = await ctx.storage.clients.list();
        print(
          values.json!,
          clients.map((c) => describeClient(c, ctx.config)),
          () =>
            clients.length === 0
              ? 'No applications registered.'
              : clients.map((c) => `${c.clientId}  ${c.type.padEnd(7)}  ${c.name}`).join('\n'),
        );
      });
      return;
    }
    case 'update': {
      const { values, positionals } = parse(
        rest,
        {
          ...dbOption,
          ...jsonOption,
          name: { type: 'string' },
          'redirect-uri': { type: 'string', multiple: true },
          'post-logout-redirect-uri': { type: 'string', multiple: true },
          consent: { type: 'string' },
          'access-token-ttl': { type: 'string' },
          'refresh-token-ttl': { type: 'string' },
          'refresh-idle-ttl': { type: 'string' },
          'refresh-grace': { type: 'string' },
          'no-refresh-tokens': { type: 'boolean' },
          'refresh-tokens': { type: 'boolean' },
          scope: { type: 'string', multiple: true },
        },
        1,
      );
      const clientId = positionals[0];
      if (!clientId) throw new UsageError('usage: latchkey clients update CLIENT_ID [options]');
      const consent = consentOf(values.consent);
      const refreshGrace = graceOf(values['refresh-grace']);
      const patch = {
        ...(values.name !== undefined ? { name: values.name } : {}),
        ...(values['redirect-uri'] ? { redirectUris: values['redirect-uri'] } : {}),
        ...(values['post-logout-redirect-uri']
          ? { postLogoutRedirectUris: values['post-logout-redirect-uri'] }
          : {}),
        ...(consent ? { consent } : {}),
        ...(values['access-token-ttl'] !== undefined
          ? { accessTokenTtl: seconds('access-token-ttl', values['access-token-ttl'])! }
          : {}),
        ...(values['refresh-token-ttl'] !== undefined
          ? { refreshTokenTtl: seconds('refresh-token-ttl', values['refresh-token-ttl'])! }
          : {}),
        ...(values['refresh-idle-ttl'] !== undefined
          ? { refreshIdleTtl: seconds('refresh-idle-ttl', values['refresh-idle-ttl'])! }
          : {}),
        ...(refreshGrace !== undefined ? { refreshGrace } : {}),
        ...(values['no-refresh-tokens'] ? { refreshTokens: false } : {}),
        ...(values['refresh-tokens'] ? { refreshTokens: true } : {}),
        ...(values.scope ? { allowedScopes: values.scope.flatMap((x) => x.split(' ')).filter(Boolean) } : {}),
      };
      await withContext(values.db, async (ctx) => {
        const client = await new AdminActions(ctx).updateClient(CLI_ACTOR, clientId, patch);
        if (!client) throw new UsageError(`no application with client_id ${clientId}`);
        print(values.json!, describeClient(client, ctx.config), () =>
          [
            `Updated ${client.clientId} (${client.name})`,
            ...(refreshGrace !== undefined ? [`  refresh_grace: ${graceText(client, ctx)}`] : []),
          ].join('\n'),
        );
      });
      return;
    }
    case 'rotate-secret': {
      const { values, positionals } = parse(rest, { ...dbOption, ...jsonOption }, 1);
      const clientId = positionals[0];
      if (!clientId) throw new UsageError('usage: latchkey clients rotate-secret CLIENT_ID');
      await withContext(values.db, async (ctx) => {
        const r = await new AdminActions(ctx).rotateSecret(CLI_ACTOR, clientId);
        if (!r) throw new UsageError(`no application with client_id ${clientId}`);
        print(
          values.json!,
          describeClient(r.client, ctx.config, r.secret),
          () => `New client_secret for ${clientId}: ${r.secret}   (shown once)`,
        );
      });
      return;
    }
    case 'delete': {
      const { values, positionals } = parse(rest, { ...dbOption, ...jsonOption }, 1);
      const clientId = positionals[0];
      if (!clientId) throw new UsageError('usage: latchkey clients delete CLIENT_ID');
      await withContext(values.db, async (ctx) => {
        if (!(await new AdminActions(ctx).deleteClient(CLI_ACTOR, clientId)))
          throw new UsageError(`no application with client_id ${clientId}`);
        print(values.json!, { client_id: clientId, deleted: true }, () => `Deleted ${clientId}`);
      });
      return;
    }
    default:
      throw new UsageError('usage: latchkey clients create|list|update|rotate-secret|delete …');
  }
}

export { ClientInputError };
