/** Token storage for native/CLI apps (Node only): one JSON file, mode 0600, in a 0700 directory. */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface StoredSession {
  issuer: string;
  clientId: string;
  accessToken: string;
  /** 'DPoP' when the tokens are bound to `dpopKey` (RFC 9449). */
  tokenType: 'Bearer' | 'DPoP';
  /** ms since the epoch */
  expiresAt?: number;
  refreshToken?: string;
  idToken?: string;
  scope?: string;
  /** `sub` of the ID token. */
  subject?: string;
  /**
   * The DPoP private key (a JWK) the tokens are bound to, when they are. Kept beside the refresh
   * token, under the file's 0600 mode: a CLI has no store for non-extractable keys.
   */
  dpopKey?: Record<string, unknown>;
}

/** `$LATCHKEY_CONFIG_DIR`, else `$XDG_CONFIG_HOME/latchkey`, else `~/.config/latchkey`. */
export function defaultConfigDir(env: Record<string, string | undefined> = process.env): string {
  if (env['LATCHKEY_CONFIG_DIR']) return env['LATCHKEY_CONFIG_DIR'];
  if (env['XDG_CONFIG_HOME']) return join(env['XDG_CONFIG_HOME'], 'latchkey');
  return join(homedir(), '.config', 'latchkey');
}

export class FileTokenStore {
  readonly path: string;
  readonly lockPath: string;
  constructor(readonly dir: string = defaultConfigDir()) {
    this.path = join(dir, 'tokens.json');
    this.lockPath = join(dir, 'tokens.lock');
  }

  /**
   * Runs `fn` holding an exclusive lock file, so two processes never refresh with the same
   * (rotating) refresh token at once — the server would see the second use as replay. A lock
   * older than `staleMs` (a crashed holder) is taken over.
   */
  async withLock<T>(fn: () => Promise<T>, opts: { timeoutMs?: number; staleMs?: number } = {}): Promise<T> {
    const timeoutMs = opts.timeoutMs ?? 15_000;
    const staleMs = opts.staleMs ?? 30_000;
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const fh = await open(this.lockPath, 'wx', 0o600);
        await fh.writeFile(String(process.pid));
        await fh.close();
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const age = await stat(this.lockPath).then(
          (s) => Date.now() - s.mtimeMs,
          () => 0,
        );
        if (age > staleMs) {
          await rm(this.lockPath, { force: true });
          continue;
        }
        if (Date.now() > deadline)
          throw new Error(`the token file is locked by another process (${this.lockPath})`);
        await new Promise((r) => setTimeout(r, 25 + Math.random() * 50));
      }
    }
    try {
      return await fn();
    } finally {
      await rm(this.lockPath, { force: true });
    }
  }

  async load(): Promise<StoredSession | null> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    try {
      const s = JSON.parse(text) as StoredSession;
      if (
        typeof s?.accessToken !== 'string' ||
        typeof s.issuer !== 'string' ||
        typeof s.clientId !== 'string'
      )
        return null;
      return s;
    } catch {
      return null;
    }
  }

  /** Writes atomically (temp file created 0600, then renamed over the old one). */
  async save(session: StoredSession): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.path}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await writeFile(tmp, `${JSON.stringify(session, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
      await chmod(tmp, 0o600);
      await rename(tmp, this.path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async clear(): Promise<void> {
    await rm(this.path, { force: true });
  }
}
