// What intake remembers of each alert group, durably: the last status seen per alert fingerprint
// (and which incident run covered it), and whether the running incident was told `resolved`. One
// row per group in the API's database (db/). A delivery is decided holding that row's lock
// (SELECT ... FOR UPDATE in a transaction), so deliveries of one group queue up across every API
// replica; Temporal's workflow-id uniqueness remains the last guard against a second incident.
import { sql } from 'kysely';
import type { Db } from '../../db/index.ts';
import { storable } from '../../db/storable.ts';

export interface AlertRecord {
  status: 'firing' | 'resolved';
  startsAt: string;
  endsAt?: string;
  /** When intake last changed this record. */
  seenAt: string;
  /** Temporal run id of the incident that received this alert (input or event). */
  runId?: string;
}

export interface GroupState {
  groupKey: string;
  workflowId: string;
  alerts: Record<string, AlertRecord>;
  /** How many incidents of this group came before the current one (its workflow id's suffix). */
  generation?: number;
  /** Run id of the incident that was sent `resolved` (once per incident). */
  resolvedSentTo?: string;
  updatedAt: string;
}

/** One group's state while its lock is held. */
export interface LockedGroup {
  load(): Promise<GroupState>;
  /** Written in the lock's transaction, kept even when the delivery then fails (see `exclusive`). */
  save(state: GroupState): Promise<void>;
}

export class GroupStateStore {
  constructor(private readonly db: Db) {}

  /**
   * Runs `fn` holding the group's row lock: concurrent deliveries of the group, on any replica, queue
   * up. What `fn` saved is committed even when it throws afterwards, like a write before a failing
   * Temporal call (intake records alerts before starting a run, so a start whose answer is lost is
   * adopted by the next delivery); a replica dying mid-delivery loses only that delivery's writes.
   */
  async exclusive<T>(workflowId: string, groupKey: string, fn: (group: LockedGroup) => Promise<T>): Promise<T> {
    const outcome = await this.db.transaction().execute(async (trx) => {
      const fresh: GroupState = { groupKey, workflowId, alerts: {}, updatedAt: new Date().toISOString() };
      await trx
        .insertInto('incident_groups')
        .values({ workflow_id: workflowId, group_key: storable(groupKey), state: JSON.stringify(storable(fresh)), updated_at: fresh.updatedAt })
        .onConflict((oc) => oc.column('workflow_id').doNothing())
        .execute();
      await trx.selectFrom('incident_groups').select('workflow_id').where('workflow_id', '=', workflowId).forUpdate().execute();
      const group: LockedGroup = {
        async load() {
          const row = await trx.selectFrom('incident_groups').select('state').where('workflow_id', '=', workflowId).executeTakeFirstOrThrow();
          return row.state;
        },
        async save(state) {
          state.updatedAt = new Date().toISOString();
          await trx
            .updateTable('incident_groups')
            .set({ state: JSON.stringify(storable(state)), updated_at: sql<Date>`now()` })
            .where('workflow_id', '=', workflowId)
            .execute();
        },
      };
      try {
        return { ok: true as const, value: await fn(group) };
      } catch (error) {
        return { ok: false as const, error };
      }
    });
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  }
}
