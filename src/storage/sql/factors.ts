/** A person's second factors and passkeys, and the single-use WebAuthn challenges. */
import type { Kysely, Selectable } from 'kysely';
import type { Database, PasskeysTable, TotpFactorsTable } from '../schema.js';
import type {
  FactorStore,
  FactorSummary,
  Passkey,
  RecoveryCodeSet,
  TotpFactor,
  WebauthnChallenge,
  WebauthnChallengeStore,
} from '../types.js';
import { mapDuplicate } from './errors.js';

const toPasskey = (r: Selectable<PasskeysTable>): Passkey => ({
  id: r.id,
  userId: r.user_id,
  credentialId: r.credential_id,
  publicKey: r.public_key,
  counter: Number(r.counter),
  transports: JSON.parse(r.transports) as string[],
  backupEligible: r.backup_eligible === 1,
  backedUp: r.backed_up === 1,
  aaguid: r.aaguid,
  name: r.name,
  createdAt: Number(r.created_at),
  lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at),
});

const toTotp = (r: Selectable<TotpFactorsTable>): TotpFactor => ({
  id: r.id,
  userId: r.user_id,
  secretSealed: r.secret_sealed,
  name: r.name,
  createdAt: Number(r.created_at),
  confirmedAt: r.confirmed_at === null ? null : Number(r.confirmed_at),
  lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at),
  lastStep: Number(r.last_step),
});

export class SqlFactorStore implements FactorStore {
  constructor(private readonly db: Kysely<Database>) {}

  async summary(userId: string): Promise<FactorSummary> {
    const r = await this.db
      .selectNoFrom((eb) => [
        eb
          .selectFrom('passkeys')
          .select(eb.fn.countAll().as('n'))
          .where('user_id', '=', userId)
          .as('passkeys'),
        eb
          .selectFrom('totp_factors')
          .select(eb.fn.countAll().as('n'))
          .where('user_id', '=', userId)
          .where('confirmed_at', 'is not', null)
          .as('totp'),
        eb
          .selectFrom('recovery_codes')
          .select(eb.fn.countAll().as('n'))
          .where('user_id', '=', userId)
          .where('used_at', 'is', null)
          .as('recovery'),
      ])
      .executeTakeFirstOrThrow();
    return {
      passkeys: Number(r.passkeys ?? 0),
      totp: Number(r.totp ?? 0) > 0,
      recoveryCodesLeft: Number(r.recovery ?? 0),
    };
  }

  async addPasskey(p: Passkey): Promise<void> {
    await mapDuplicate('the passkey is registered already', () =>
      this.db
        .insertInto('passkeys')
        .values({
          id: p.id,
          user_id: p.userId,
          credential_id: p.credentialId,
          public_key: p.publicKey,
          counter: p.counter,
          transports: JSON.stringify(p.transports),
          backup_eligible: p.backupEligible ? 1 : 0,
          backed_up: p.backedUp ? 1 : 0,
          aaguid: p.aaguid,
          name: p.name,
          created_at: p.createdAt,
          last_used_at: p.lastUsedAt,
        })
        .execute(),
    );
  }

  async passkeysOf(userId: string): Promise<Passkey[]> {
    const rows = await this.db
      .selectFrom('passkeys')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(toPasskey);
  }

  async passkeyByCredentialId(credentialId: string): Promise<Passkey | undefined> {
    const r = await this.db
      .selectFrom('passkeys')
      .selectAll()
      .where('credential_id', '=', credentialId)
      .executeTakeFirst();
    return r && toPasskey(r);
  }

  async usePasskey(id: string, use: { counter: number; backedUp: boolean; at: number }): Promise<boolean> {
    // One statement decides: of two assertions with the same counter, one moves it.
    const r = await this.db
      .updateTable('passkeys')
      .set({ counter: use.counter, backed_up: use.backedUp ? 1 : 0, last_used_at: use.at })
      .where('id', '=', id)
      // WebAuthn §6.1.1: a counter that does not move past the stored one is a regression, unless
      // both are 0 (an authenticator that keeps no counter, as synced passkeys do).
      .where((eb) => (use.counter === 0 ? eb('counter', '=', 0) : eb('counter', '<', use.counter)))
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async renamePasskey(userId: string, id: string, name: string): Promise<boolean> {
    const r = await this.db
      .updateTable('passkeys')
      .set({ name })
      .where('id', '=', id)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async removePasskey(userId: string, id: string): Promise<boolean> {
    const r = await this.db
      .deleteFrom('passkeys')
      .where('id', '=', id)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return Number(r.numDeletedRows) === 1;
  }

  async addTotp(t: TotpFactor): Promise<void> {
    await this.db
      .deleteFrom('totp_factors')
      .where('user_id', '=', t.userId)
      .where('confirmed_at', 'is', null)
      .execute();
    await this.db
      .insertInto('totp_factors')
      .values({
        id: t.id,
        user_id: t.userId,
        secret_sealed: t.secretSealed,
        name: t.name,
        created_at: t.createdAt,
        confirmed_at: t.confirmedAt,
        last_used_at: t.lastUsedAt,
        last_step: t.lastStep,
      })
      .execute();
  }

  async totpOf(userId: string): Promise<TotpFactor[]> {
    const rows = await this.db
      .selectFrom('totp_factors')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(toTotp);
  }

  async useTotpStep(id: string, step: number, at: number): Promise<boolean> {
    // RFC 6238 §5.2: the step moves forward in one statement, so a code is accepted once.
    const r = await this.db
      .updateTable('totp_factors')
      .set((eb) => ({
        last_step: step,
        last_used_at: at,
        confirmed_at: eb.fn.coalesce('confirmed_at', eb.val(at)),
      }))
      .where('id', '=', id)
      .where('last_step', '<', step)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async removeTotp(userId: string, id: string): Promise<boolean> {
    const r = await this.db
      .deleteFrom('totp_factors')
      .where('id', '=', id)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return Number(r.numDeletedRows) === 1;
  }

  async replaceRecoveryCodes(userId: string, setId: string, hashes: string[], at: number): Promise<void> {
    const replace = async (tx: Kysely<Database>) => {
      await tx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
      if (hashes.length > 0)
        await tx
          .insertInto('recovery_codes')
          .values(
            hashes.map((h) => ({
              code_hash: h,
              user_id: userId,
              set_id: setId,
              created_at: at,
              used_at: null,
            })),
          )
          .execute();
    };
    // Inside a storage transaction already, or one of its own.
    if (this.db.isTransaction) await replace(this.db);
    else await this.db.transaction().execute(replace);
  }

  async useRecoveryCode(userId: string, hash: string, at: number): Promise<boolean> {
    const r = await this.db
      .updateTable('recovery_codes')
      .set({ used_at: at })
      .where('code_hash', '=', hash)
      .where('user_id', '=', userId)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async recoveryCodesOf(userId: string): Promise<RecoveryCodeSet | undefined> {
    const rows = await this.db
      .selectFrom('recovery_codes')
      .select(['set_id', 'created_at', 'used_at'])
      .where('user_id', '=', userId)
      .execute();
    const first = rows[0];
    if (!first) return undefined;
    const used = rows
      .map((r) => r.used_at)
      .filter((u): u is number => u !== null)
      .map(Number);
    return {
      id: first.set_id,
      userId,
      total: rows.length,
      left: rows.length - used.length,
      createdAt: Number(first.created_at),
      lastUsedAt: used.length > 0 ? Math.max(...used) : null,
    };
  }

  async removeRecoveryCodes(userId: string, setId: string): Promise<boolean> {
    const r = await this.db
      .deleteFrom('recovery_codes')
      .where('user_id', '=', userId)
      .where('set_id', '=', setId)
      .executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}

export class SqlWebauthnChallengeStore implements WebauthnChallengeStore {
  constructor(private readonly db: Kysely<Database>) {}

  async save(c: WebauthnChallenge): Promise<void> {
    await this.db
      .insertInto('webauthn_challenges')
      .values({
        challenge: c.challenge,
        purpose: c.purpose,
        binding: c.binding,
        user_id: c.userId,
        expires_at: c.expiresAt,
      })
      .execute();
  }

  async consume(
    challenge: string,
    purpose: WebauthnChallenge['purpose'],
    binding: string,
    now: number,
  ): Promise<WebauthnChallenge | undefined> {
    // One statement: a challenge answers one ceremony, whichever node gets it first.
    const r = await this.db
      .deleteFrom('webauthn_challenges')
      .where('challenge', '=', challenge)
      .where('purpose', '=', purpose)
      .where('binding', '=', binding)
      .where('expires_at', '>', now)
      .returningAll()
      .executeTakeFirst();
    return r
      ? {
          challenge: r.challenge,
          purpose: r.purpose as WebauthnChallenge['purpose'],
          binding: r.binding,
          userId: r.user_id,
          expiresAt: Number(r.expires_at),
        }
      : undefined;
  }
}
