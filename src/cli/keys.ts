/** `latchkey keys list|rotate|encrypt` */
import { EncryptedKeyStore } from '../tokens/key-encryption.js';
import { dbOption, jsonOption, parse, print } from './args.js';
import { commandGroup } from './command-table.js';
import { withContext } from './db.js';
import type { Io } from './io.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

async function rotateCommand(argv: string[], io: Io): Promise<void> {
  const { values } = parse(argv, { ...dbOption, ...jsonOption });
  await withContext(io, values.db, async (ctx) => {
    await ctx.keys.ensureKey();
    const key = await ctx.keys.rotate();
    await ctx.audit.record('key_rotated', {
      detail: { kid: key.kid, generation: key.generation, via: 'cli' },
    });
    print(
      io,
      values.json!,
      {
        kid: key.kid,
        generation: key.generation,
        alg: key.alg,
        es256_kid: key.ec?.kid ?? null,
        active_at: iso(key.activeAt),
      },
      () =>
        `New signing key ${key.kid} (generation ${key.generation}) is published now and signs from ${iso(key.activeAt)}`,
    );
  });
}

async function encryptCommand(argv: string[], io: Io): Promise<void> {
  const { values } = parse(argv, { ...dbOption, ...jsonOption });
  await withContext(io, values.db, async (ctx) => {
    // Seals the keys stored in the clear with LATCHKEY_KEY_ENCRYPTION_KEY (tokens/key-encryption.ts).
    const store = new EncryptedKeyStore(ctx.storage.keys, ctx.config.keyEncryptionKey);
    const sealed = await store.sealStoredKeys();
    if (sealed > 0) await ctx.audit.record('keys_encrypted', { detail: { generations: sealed, via: 'cli' } });
    print(io, values.json!, { encrypted: sealed }, () =>
      sealed === 0
        ? 'Every signing key was already encrypted.'
        : `Encrypted ${sealed} key generation${sealed === 1 ? '' : 's'} with LATCHKEY_KEY_ENCRYPTION_KEY.`,
    );
  });
}

async function listCommand(argv: string[], io: Io): Promise<void> {
  const { values } = parse(argv, { ...dbOption, ...jsonOption });
  await withContext(io, values.db, async (ctx) => {
    const now = ctx.clock.now();
    const keys = (await ctx.keys.list()).map((k) => ({
      kid: k.kid,
      generation: k.generation,
      alg: k.alg,
      /** The generation's P-256 key for ES256 access tokens (LATCHKEY_ACCESS_TOKEN_ALG). */
      es256_kid: k.ec?.kid ?? null,
      created_at: iso(k.createdAt),
      active_at: iso(k.activeAt),
      retired_at: iso(k.retiredAt),
      expires_at: iso(k.expiresAt),
      status:
        k.expiresAt !== null && k.expiresAt <= now
          ? 'expired'
          : k.retiredAt !== null && k.retiredAt <= now
            ? 'retired (published)'
            : k.activeAt > now
              ? 'published (not yet signing)'
              : 'signing',
    }));
    print(io, values.json!, keys, () =>
      keys.length === 0
        ? 'No keys yet (created on first serve).'
        : keys
            .map(
              (k) =>
                `${k.kid}  gen ${k.generation}  ${k.alg}${k.es256_kid ? ` + ES256 ${k.es256_kid}` : ''}  ${k.status}`,
            )
            .join('\n'),
    );
  });
}

export const keysCommand = commandGroup('keys', {
  list: listCommand,
  rotate: rotateCommand,
  encrypt: encryptCommand,
});
