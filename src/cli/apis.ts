/** `latchkey apis …`: the APIs (resource servers) tokens are issued for. */

import { AdminActions } from '../admin/actions.js';
import { type ApiSettingsPatch, describeApi, parseScopeArgument } from '../admin/apis.js';
import { formatDuration, parseDuration } from '../duration.js';
import type { Api, ApiScope, ApiTokenAlg } from '../storage/types.js';
import { dbOption, jsonOption, parse, print, UsageError } from './args.js';
import { commandGroup } from './command-table.js';
import { CLI_ACTOR, withContext } from './db.js';
import type { Io } from './io.js';

const noApi = (identifier: string) => new UsageError(`no API with identifier ${identifier}`);

/** --access-token-ttl: seconds or a duration; `default` (update only) for the server's. */
function ttlOf(v: string | undefined, allowDefault: boolean): number | null | undefined {
  if (v === undefined) return undefined;
  if (allowDefault && v === 'default') return null;
  const s = parseDuration(v);
  if (s === undefined)
    throw new UsageError(`--access-token-ttl must be seconds or a duration such as 15m, not ${v}`);
  return s;
}

function algOf(v: string | undefined, allowDefault: boolean): ApiTokenAlg | null | undefined {
  if (v === undefined) return undefined;
  if (allowDefault && v === 'default') return null;
  if (v !== 'RS256' && v !== 'ES256')
    throw new UsageError(`--token-alg must be RS256 or ES256${allowDefault ? ' or default' : ''}`);
  return v;
}

const scopesOf = (v: string[] | undefined): ApiScope[] | undefined => v?.map(parseScopeArgument);

/** For people: the API, its scopes and the settings in force. */
function apiText(api: Api, isDefault: boolean): string {
  const lines = [
    `${api.identifier}  ${api.name}${isDefault ? '  (default: LATCHKEY_AUDIENCE)' : ''}`,
    `  access token lifetime: ${api.accessTokenTtl === null ? 'server default' : formatDuration(api.accessTokenTtl)}`,
    `  token algorithm: ${api.tokenAlg ?? 'server default'}`,
    `  self-registered clients: ${api.allowDynamicClients ? 'allowed' : 'not allowed'}`,
  ];
  if (api.scopes.length === 0) lines.push('  scopes: none registered');
  else for (const s of api.scopes) lines.push(`  ${s.value}${s.description ? `  ${s.description}` : ''}`);
  return lines.join('\n');
}

async function createCommand(argv: string[], io: Io): Promise<void> {
  const { values } = parse(argv, {
    ...dbOption,
    ...jsonOption,
    identifier: { type: 'string' },
    name: { type: 'string' },
    scope: { type: 'string', multiple: true },
    'access-token-ttl': { type: 'string' },
    'token-alg': { type: 'string' },
    'allow-dynamic-clients': { type: 'boolean', default: false },
  });
  if (values.identifier === undefined)
    throw new UsageError('--identifier is required (such as https://api.example.com)');
  if (values.name === undefined) throw new UsageError('--name is required');
  const input = {
    identifier: values.identifier,
    name: values.name,
    scopes: scopesOf(values.scope) ?? [],
    accessTokenTtl: ttlOf(values['access-token-ttl'], false) ?? null,
    tokenAlg: algOf(values['token-alg'], false) ?? null,
    allowDynamicClients: values['allow-dynamic-clients']!,
  };
  await withContext(io, values.db, async (ctx) => {
    const api = await new AdminActions(ctx).createApi(CLI_ACTOR, input);
    print(
      io,
      values.json!,
      describeApi(api, ctx.config.audience),
      () => `Created API\n${apiText(api, false)}`,
    );
  });
}

async function listCommand(argv: string[], io: Io): Promise<void> {
  const { values } = parse(argv, { ...dbOption, ...jsonOption });
  await withContext(io, values.db, async (ctx) => {
    const apis = await ctx.apis.list();
    print(
      io,
      values.json!,
      apis.map((a) => describeApi(a, ctx.config.audience)),
      () =>
        apis
          .map(
            (a) =>
              `${a.identifier}  ${a.name}  (${a.scopes.length} scopes)${ctx.apis.isDefault(a.identifier) ? '  default' : ''}`,
          )
          .join('\n'),
    );
  });
}

async function showCommand(argv: string[], io: Io): Promise<void> {
  const { values, positionals } = parse(argv, { ...dbOption, ...jsonOption }, 1);
  const identifier = positionals[0];
  if (!identifier) throw new UsageError('usage: latchkey apis show IDENTIFIER');
  await withContext(io, values.db, async (ctx) => {
    const api = await ctx.apis.get(identifier);
    if (!api) throw noApi(identifier);
    print(io, values.json!, describeApi(api, ctx.config.audience), () =>
      apiText(api, ctx.apis.isDefault(identifier)),
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
      scope: { type: 'string', multiple: true },
      'access-token-ttl': { type: 'string' },
      'token-alg': { type: 'string' },
      'allow-dynamic-clients': { type: 'boolean' },
      'no-dynamic-clients': { type: 'boolean' },
    },
    1,
  );
  const identifier = positionals[0];
  if (!identifier)
    throw new UsageError('usage: latchkey apis update IDENTIFIER [--name N] [--scope V=D]... …');
  if (values['allow-dynamic-clients'] && values['no-dynamic-clients'])
    throw new UsageError('give --allow-dynamic-clients or --no-dynamic-clients, not both');
  const patch: ApiSettingsPatch = {};
  if (values.name !== undefined) patch.name = values.name;
  const scopes = scopesOf(values.scope);
  if (scopes !== undefined) patch.scopes = scopes;
  const ttl = ttlOf(values['access-token-ttl'], true);
  if (ttl !== undefined) patch.accessTokenTtl = ttl;
  const alg = algOf(values['token-alg'], true);
  if (alg !== undefined) patch.tokenAlg = alg;
  if (values['allow-dynamic-clients']) patch.allowDynamicClients = true;
  if (values['no-dynamic-clients']) patch.allowDynamicClients = false;
  if (Object.keys(patch).length === 0) throw new UsageError('give at least one setting to change');
  await withContext(io, values.db, async (ctx) => {
    const api = await new AdminActions(ctx).updateApi(CLI_ACTOR, identifier, patch);
    if (!api) throw noApi(identifier);
    print(
      io,
      values.json!,
      describeApi(api, ctx.config.audience),
      () => `Updated API\n${apiText(api, ctx.apis.isDefault(identifier))}`,
    );
  });
}

async function deleteCommand(argv: string[], io: Io): Promise<void> {
  const { values, positionals } = parse(argv, { ...dbOption, ...jsonOption }, 1);
  const identifier = positionals[0];
  if (!identifier) throw new UsageError('usage: latchkey apis delete IDENTIFIER');
  await withContext(io, values.db, async (ctx) => {
    if (!(await new AdminActions(ctx).deleteApi(CLI_ACTOR, identifier))) throw noApi(identifier);
    print(io, values.json!, { identifier, deleted: true }, () => `Deleted API ${identifier}`);
  });
}

export const apisCommand = commandGroup('apis', {
  create: createCommand,
  list: listCommand,
  show: showCommand,
  update: updateCommand,
  delete: deleteCommand,
});
