// The API's tables, as Kysely sees them (api/db/migrations/ creates them).
import type { ColumnType, Generated, JSONColumnType } from 'kysely';

/** timestamptz: written as a Date or an RFC 3339 string, read as a Date. */
type Timestamp = ColumnType<Date, Date | string, Date | string>;

export interface AuditTable {
  id: Generated<string>;
  at: Timestamp;
  actor: string;
  action: string;
  target: string;
  details: JSONColumnType<Record<string, unknown>> | null;
}

export interface Tables {
  audit_entries: AuditTable;
}
