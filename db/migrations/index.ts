// Every migration, in order: names sort as they run; a released one is never edited, only followed.
import type { Migration } from 'kysely';
import * as auditEntries from './0001_audit_entries.ts';
import * as usedLinks from './0002_used_links.ts';
import * as incidentGroups from './0003_incident_groups.ts';
import * as definitions from './0004_definitions.ts';
import * as auditOnce from './0005_audit_once.ts';

export const migrations: Record<string, Migration> = {
  '0001_audit_entries': auditEntries,
  '0002_used_links': usedLinks,
  '0003_incident_groups': incidentGroups,
  '0004_definitions': definitions,
  '0005_audit_once': auditOnce,
};
