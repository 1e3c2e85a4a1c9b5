import type { Actor } from '../admin/actions.js';
import { systemClock } from '../clock.js';
import { type Config, loadConfig } from '../config.js';
import { createContext, type ServerContext } from '../context.js';
import { openStorage } from '../storage/index.js';
import type { Io } from './io.js';

/** Opens the database for an admin command (running pending migrations first). */
export async function withContext<T>(
  io: Io,
  db: string | undefined,
  fn: (ctx: ServerContext) => Promise<T>,
  extra: Partial<Config> = {},
): Promise<T> {
  const config = loadConfig({ database: db, ...extra }, io.env);
  let storage: Awaited<ReturnType<typeof openStorage>>;
  try {
    storage = await openStorage(config.database, { poolSize: 2 });
  } catch (err) {
    throw new Error(
      `cannot open database ${describeDb(config.database)}: ${(err as Error).message.split('\n')[0]}`,
    );
  }
  try {
    return await fn(createContext(config, systemClock, storage, io.context));
  } finally {
    await storage.close();
  }
}

const describeDb = (url: string) => url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');

/** Who the audit log names for changes made with the command line. */
export const CLI_ACTOR: Actor = { via: 'cli', ip: null };
