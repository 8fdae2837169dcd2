// Where registered definitions are kept: the platform database (db/, table `definitions`), written by
// the API and read by every API replica and worker. Registrations are serialized across replicas by a
// transaction-scoped advisory lock, so the name and workflow-type checks of one see every earlier one.
import { sql } from 'kysely';
import type { Db } from '../../db/index.ts';

export interface StoredVersion {
  /** Registration order; a version registered again gets a new, higher number. */
  seq: number;
  hash: string;
  name: string;
  source: string;
}

export interface RegistrationTx {
  /** Versions registered after `seq`, in registration order. */
  since(seq: number): Promise<StoredVersion[]>;
  /** Stores a version (or makes a stored one the latest again); true when it was new. */
  save(version: { hash: string; name: string; source: string }): Promise<boolean>;
}

export interface DefinitionStore {
  since(seq: number): Promise<StoredVersion[]>;
  /** Runs `fn` as the only registration in progress on the platform, committed when it returns. */
  registering<T>(fn: (tx: RegistrationTx) => Promise<T>): Promise<T>;
}

/** Any constant: the advisory lock key of registrations (pg_advisory_xact_lock takes a bigint). */
const REGISTRATION_LOCK = 0x636564696c6c65n; // "cedille"

function since(db: Db, seq: number): Promise<StoredVersion[]> {
  return db
    .selectFrom('definitions')
    .select(['seq', 'hash', 'name', 'source'])
    .where('seq', '>', seq)
    .orderBy('seq')
    .execute()
    .then((rows) => rows.map((r) => ({ ...r, seq: Number(r.seq) })));
}

export function databaseDefinitionStore(db: Db): DefinitionStore {
  return {
    since: (seq) => since(db, seq),
    registering: (fn) =>
      db.transaction().execute(async (tx) => {
        await sql`SELECT pg_advisory_xact_lock(${String(REGISTRATION_LOCK)}::bigint)`.execute(tx);
        return fn({
          since: (seq) => since(tx, seq),
          async save({ hash, name, source }) {
            const now = new Date();
            const bumped = await tx
              .updateTable('definitions')
              .set({ seq: sql`nextval('definition_registrations')`, registered_at: now })
              .where('hash', '=', hash)
              .executeTakeFirst();
            if (bumped.numUpdatedRows > 0n) return false;
            await tx.insertInto('definitions').values({ hash, name, source, registered_at: now }).execute();
            return true;
          },
        });
      }),
  };
}
