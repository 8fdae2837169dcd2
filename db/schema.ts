// The platform database's tables, as Kysely sees them (db/migrations/ creates them).
import type { ColumnType, Generated, JSONColumnType, RawBuilder } from 'kysely';
import type { GroupState } from '../api/incidents/state.ts';

/** timestamptz: written as a Date or an RFC 3339 string, read as a Date. */
type Timestamp = ColumnType<Date, Date | string, Date | string>;

export interface AuditTable {
  id: Generated<string>;
  at: Timestamp;
  actor: string;
  action: string;
  target: string;
  details: JSONColumnType<Record<string, unknown>> | null;
  once_key: string | null;
}

export interface UsedLinkTable {
  nonce: string;
  state: 'claimed' | 'used';
  /** Which answer holds the claim (a random id), so a late release cannot drop another's claim. */
  claim_id: string | null;
  claimed_at: Timestamp;
  used_at: Timestamp | null;
  by: string | null;
  by_name: string | null;
  decision: 'approve' | 'reject' | null;
  workflow_id: string | null;
  step_id: string | null;
}

export interface IncidentGroupTable {
  workflow_id: string;
  group_key: string;
  state: JSONColumnType<GroupState>;
  updated_at: Timestamp;
}

export interface DefinitionTable {
  hash: string;
  name: string;
  source: string;
  /** bigint: read as a string by node-postgres, as a number by PGlite. */
  seq: ColumnType<string | number, never, string | number | RawBuilder<unknown>>;
  registered_at: Timestamp;
}

export interface Tables {
  audit_entries: AuditTable;
  used_links: UsedLinkTable;
  incident_groups: IncidentGroupTable;
  definitions: DefinitionTable;
}
