/**
 * An unbounded in-memory adapter for the benchmark's node-oidc-provider. Its own memory adapter
 * keeps at most 1,000 entries (an LRU: sessions, grants, codes and tokens together), so with 200
 * people the sessions of all but the busiest are evicted and their flows fail; a deployment uses
 * a database or Redis, which forgets nothing early. This one keeps every entry until it expires,
 * as those do. Expired entries are dropped when read and swept once a second.
 */
type Payload = Record<string, unknown> & {
  grantId?: string;
  uid?: string;
  userCode?: string;
  consumed?: number;
};

interface Entry {
  payload: Payload;
  expiresAt: number;
}

const entries = new Map<string, Entry>();
const byGrant = new Map<string, Set<string>>();
const bySessionUid = new Map<string, string>();
const byUserCode = new Map<string, string>();

const sweep = setInterval(() => {
  const now = Date.now();
  for (const [key, e] of entries) if (e.expiresAt <= now) entries.delete(key);
}, 1000);
sweep.unref();

function live(key: string): Payload | undefined {
  const e = entries.get(key);
  if (!e) return undefined;
  if (e.expiresAt <= Date.now()) {
    entries.delete(key);
    return undefined;
  }
  return e.payload;
}

export class UnboundedMemoryAdapter {
  readonly #model: string;
  constructor(model: string) {
    this.#model = model;
  }

  #key(id: string): string {
    return `${this.#model}:${id}`;
  }

  async upsert(id: string, payload: Payload, expiresIn?: number): Promise<void> {
    const key = this.#key(id);
    const expiresAt =
      typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : Number.POSITIVE_INFINITY;
    entries.set(key, { payload: { ...payload }, expiresAt });
    if (payload.grantId) {
      const keys = byGrant.get(payload.grantId) ?? new Set<string>();
      byGrant.set(payload.grantId, keys);
      keys.add(key);
    }
    if (payload.uid) bySessionUid.set(payload.uid, id);
    if (payload.userCode) byUserCode.set(payload.userCode, id);
  }

  async find(id: string): Promise<Payload | undefined> {
    return live(this.#key(id));
  }

  async findByUid(uid: string): Promise<Payload | undefined> {
    const id = bySessionUid.get(uid);
    return id === undefined ? undefined : this.find(id);
  }

  async findByUserCode(userCode: string): Promise<Payload | undefined> {
    const id = byUserCode.get(userCode);
    return id === undefined ? undefined : this.find(id);
  }

  async consume(id: string): Promise<void> {
    const p = live(this.#key(id));
    if (p) p.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id: string): Promise<void> {
    const key = this.#key(id);
    const p = entries.get(key)?.payload;
    entries.delete(key);
    if (p?.uid && bySessionUid.get(p.uid) === id) bySessionUid.delete(p.uid);
    if (p?.userCode && byUserCode.get(p.userCode) === id) byUserCode.delete(p.userCode);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    for (const key of byGrant.get(grantId) ?? []) entries.delete(key);
    byGrant.delete(grantId);
  }
}
