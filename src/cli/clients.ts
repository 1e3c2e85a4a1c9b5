/** `latchkey clients …` */

import { readFileSync } from 'node:fs';
import { AdminActions } from '../admin/actions.js';
import { type ParsedSettings, parseAllowedApi, parseClientSettings } from '../admin/client-settings.js';
import { ClientInputError, describeClient, effectiveRefreshGrace } from '../admin/clients.js';
import type { ServerContext } from '../context.js';
import type { AllowedApi, Client } from '../storage/types.js';
import { dbOption, jsonOption, parse, print, UsageError } from './args.js';
import { commandGroup } from './command-table.js';
import { CLI_ACTOR, withContext } from './db.js';
import type { Io } from './io.js';

/** The settings, or a usage error (exit 2) with the first error's message. */
function settingsOrUsage<T>(parsed: ParsedSettings<T>): T {
  if (!parsed.ok) throw new UsageError(parsed.errors[0]!.message);
  return parsed.value;
}

/** --refresh-grace: seconds or a duration (0 = off), or `default` for LATCHKEY_REFRESH_GRACE. */
const graceOf = (v: string | undefined): string | null | undefined => (v === 'default' ? null : v);

/** --scope values: each may hold several scopes separated by spaces. */
const scopesOf = (v: string[] | undefined): string[] | undefined =>
  v?.flatMap((x) => x.split(' ')).filter(Boolean);

/** --allow-api IDENTIFIER[=SCOPE,SCOPE…] (parseAllowedApi). */
function allowApisOf(v: string[] | undefined): AllowedApi[] | undefined {
  return v?.map((x) => {
    const parsed = parseAllowedApi(x);
    if (!parsed)
      throw new UsageError(
        `--allow-api ${x}: list scopes after "=", or give the identifier alone for all of them`,
      );
    return parsed;
  });
}

/** The grace in force, for people: `30 s (server default)`, `0 s (off)`, `10 s`. */
function graceText(client: Client, ctx: ServerContext): string {
  const g = effectiveRefreshGrace(client, ctx.config);
  return `${g.seconds} s${g.seconds === 0 ? ' (off)' : ''}${g.source === 'server' ? ' (server default, LATCHKEY_REFRESH_GRACE)' : ''}`;
}

/** The policy in force, for people: `required`, `inherit (server default, LATCHKEY_MFA: optional)`. */
function mfaText(client: Client, ctx: ServerContext): string {
  return client.mfa ?? `inherit (server default, LATCHKEY_MFA: ${ctx.config.mfa})`;
}

/** --jwks-file FILE: the application's public JWK Set, read as JSON (`-` reads standard input). */
function jwksOf(file: string | undefined): unknown {
  if (file === undefined) return undefined;
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new UsageError(
      `cannot read --jwks-file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`--jwks-file ${file} is not JSON (a JWK Set: {"keys": [...]})`);
  }
}

/** `  allowed API: https://api.example.com (orders:read, orders:write)`, one line each. */
function apiLines(client: Client, evenNone = false): string[] {
  const apis = client.allowedApis ?? [];
  if (apis.length === 0) return evenNone ? ['  allowed APIs: the default API only'] : [];
  return apis.map(
    (a) =>
      `  allowed API: ${a.identifier} (${a.scopes === null ? 'all its scopes' : a.scopes.join(', ') || 'no scopes'})`,
  );
}

const noClient = (clientId: string) => new UsageError(`no application with client_id ${clientId}`);

async function createCommand(argv: string[], io: Io): Promise<void> {
  const { values } = parse(argv, {
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
    'require-par': { type: 'boolean', default: false },
    'jwks-file': { type: 'string' },
    'jwks-uri': { type: 'string' },
    'dpop-bound': { type: 'boolean', default: false },
    profile: { type: 'string' },
    mfa: { type: 'string' },
    grant: { type: 'string', multiple: true },
    'no-grant': { type: 'string', multiple: true },
    'allow-api': { type: 'string', multiple: true },
  });
  const input = settingsOrUsage(
    parseClientSettings(
      {
        name: values.name,
        type: values.type,
        redirect_uris: values['redirect-uri'] ?? [],
        post_logout_redirect_uris: values['post-logout-redirect-uri'] ?? [],
        consent: values.consent,
        token_endpoint_auth_method: values['token-endpoint-auth-method'],
        require_pkce: values['no-pkce'] ? false : undefined,
        refresh_tokens: values['no-refresh-tokens'] ? false : undefined,
        refresh_grace: graceOf(values['refresh-grace']),
        allowed_scopes: scopesOf(values.scope),
        require_pushed_authorization_requests: values['require-par'] ? true : undefined,
        jwks: jwksOf(values['jwks-file']),
        jwks_uri: values['jwks-uri'],
        dpop_bound_access_tokens: values['dpop-bound'] ? true : undefined,
        profile: values.profile,
        mfa: values.mfa,
        add_grants: values.grant,
        remove_grants: values['no-grant'],
        allowed_apis: allowApisOf(values['allow-api']),
      },
      { mode: 'create' },
    ),
  );
  await withContext(io, values.db, async (ctx) => {
    const { client, secret } = await new AdminActions(ctx).createClient(CLI_ACTOR, input);
    print(io, values.json!, describeClient(client, ctx.config, secret), () =>
      [
        `Created ${client.type} application "${client.name}"`,
        `  client_id: ${client.clientId}`,
        ...(secret ? [`  client_secret: ${secret}   (shown once; store it now)`] : []),
        `  token_endpoint_auth_method: ${client.tokenEndpointAuthMethod}`,
        ...client.redirectUris.map((u) => `  redirect_uri: ${u}`),
        `  grant_types: ${client.grantTypes.join(' ')}`,
        ...apiLines(client),
        `  consent: ${client.consent}`,
        ...(client.grantTypes.includes('refresh_token')
          ? [`  refresh_grace: ${graceText(client, ctx)}`]
          : []),
        ...(client.type !== 'service' ? [`  mfa: ${mfaText(client, ctx)}`] : []),
      ].join('\n'),
    );
  });
}

async function listCommand(argv: string[], io: Io): Promise<void> {
  const { values } = parse(argv, { ...dbOption, ...jsonOption });
  await withContext(io, values.db, async (ctx) => {
    const clients = await ctx.storage.clients.list();
    print(
      io,
      values.json!,
      clients.map((c) => describeClient(c, ctx.config)),
      () =>
        clients.length === 0
          ? 'No applications registered.'
          : clients.map((c) => `${c.clientId}  ${c.type.padEnd(7)}  ${c.name}`).join('\n'),
    );
  });
}

async function updateCommand(argv: string[], io: Io): Promise<void> {
  const { values, positionals } = parse(
    argv,
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
      'require-par': { type: 'boolean' },
      'no-require-par': { type: 'boolean' },
      'token-endpoint-auth-method': { type: 'string' },
      'jwks-file': { type: 'string' },
      'jwks-uri': { type: 'string' },
      'dpop-bound': { type: 'boolean' },
      'no-dpop-bound': { type: 'boolean' },
      profile: { type: 'string' },
      mfa: { type: 'string' },
      grant: { type: 'string', multiple: true },
      'no-grant': { type: 'string', multiple: true },
      'allow-api': { type: 'string', multiple: true },
      'disallow-api': { type: 'string', multiple: true },
    },
    1,
  );
  const clientId = positionals[0];
  if (!clientId) throw new UsageError('usage: latchkey clients update CLIENT_ID [options]');
  // Times: seconds or a duration (15m, 1h, 7d); --refresh-grace also takes `default`.
  const patch = settingsOrUsage(
    parseClientSettings(
      {
        name: values.name,
        redirect_uris: values['redirect-uri'],
        post_logout_redirect_uris: values['post-logout-redirect-uri'],
        consent: values.consent,
        access_token_ttl: values['access-token-ttl'],
        refresh_token_ttl: values['refresh-token-ttl'],
        refresh_idle_ttl: values['refresh-idle-ttl'],
        refresh_grace: graceOf(values['refresh-grace']),
        refresh_tokens: values['refresh-tokens'] ? true : values['no-refresh-tokens'] ? false : undefined,
        allowed_scopes: scopesOf(values.scope),
        require_pushed_authorization_requests: values['require-par']
          ? true
          : values['no-require-par']
            ? false
            : undefined,
        token_endpoint_auth_method: values['token-endpoint-auth-method'],
        jwks: jwksOf(values['jwks-file']),
        jwks_uri: values['jwks-uri'],
        dpop_bound_access_tokens: values['dpop-bound'] ? true : values['no-dpop-bound'] ? false : undefined,
        profile: values.profile,
        // none, optional, required, or inherit (null: the server's LATCHKEY_MFA).
        mfa: values.mfa,
        // RFC 8628: --grant device_code adds the device grant; --no-grant removes one.
        add_grants: values.grant,
        remove_grants: values['no-grant'],
        // RFC 8707: the APIs (and their scopes) the application may ask tokens for.
        allow_apis: allowApisOf(values['allow-api']),
        disallow_apis: values['disallow-api'],
      },
      { mode: 'update' },
    ),
  );
  await withContext(io, values.db, async (ctx) => {
    const r = await new AdminActions(ctx).updateClient(CLI_ACTOR, clientId, patch);
    if (!r) throw noClient(clientId);
    const { client, secret } = r;
    print(io, values.json!, describeClient(client, ctx.config, secret), () =>
      [
        `Updated ${client.clientId} (${client.name})`,
        ...(secret ? [`  client_secret: ${secret}   (new; shown once; store it now)`] : []),
        ...(patch.refreshGrace !== undefined ? [`  refresh_grace: ${graceText(client, ctx)}`] : []),
        ...(patch.mfa !== undefined ? [`  mfa: ${mfaText(client, ctx)}`] : []),
        ...(patch.addGrants || patch.removeGrants || patch.refreshTokens !== undefined
          ? [`  grant_types: ${client.grantTypes.join(' ')}`]
          : []),
        ...(patch.allowApis || patch.disallowApis ? apiLines(client, true) : []),
      ].join('\n'),
    );
  });
}

async function rotateSecretCommand(argv: string[], io: Io): Promise<void> {
  const { values, positionals } = parse(argv, { ...dbOption, ...jsonOption }, 1);
  const clientId = positionals[0];
  if (!clientId) throw new UsageError('usage: latchkey clients rotate-secret CLIENT_ID');
  await withContext(io, values.db, async (ctx) => {
    const r = await new AdminActions(ctx).rotateSecret(CLI_ACTOR, clientId);
    if (!r) throw noClient(clientId);
    print(
      io,
      values.json!,
      describeClient(r.client, ctx.config, r.secret),
      () => `New client_secret for ${clientId}: ${r.secret}   (shown once)`,
    );
  });
}

async function deleteCommand(argv: string[], io: Io): Promise<void> {
  const { values, positionals } = parse(argv, { ...dbOption, ...jsonOption }, 1);
  const clientId = positionals[0];
  if (!clientId) throw new UsageError('usage: latchkey clients delete CLIENT_ID');
  await withContext(io, values.db, async (ctx) => {
    if (!(await new AdminActions(ctx).deleteClient(CLI_ACTOR, clientId))) throw noClient(clientId);
    print(io, values.json!, { client_id: clientId, deleted: true }, () => `Deleted ${clientId}`);
  });
}

export const clientsCommand = commandGroup('clients', {
  create: createCommand,
  list: listCommand,
  update: updateCommand,
  'rotate-secret': rotateSecretCommand,
  delete: deleteCommand,
});

export { ClientInputError };
