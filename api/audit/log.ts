// The audit trail: who started, approved, rejected, cancelled, registered what and when. One row per
// entry in the API's database (db/), append-only, written before the action is acknowledged and
// filtered, ordered and limited in SQL; Temporal history remains the record of what the workflows did.
import { z } from 'zod';
import type { Db } from '../../db/index.ts';
import { storable } from '../../db/storable.ts';

export const AuditEntry = z
  .object({
    at: z.string().describe('RFC 3339 time'),
    actor: z.string().describe('Subject of the caller'),
    action: z.enum(['run.start', 'run.cancel', 'run.retry-failed', 'run.skip-failed', 'approval.approve', 'approval.reject', 'definition.register', 'schedule.create', 'schedule.pause', 'schedule.unpause', 'schedule.trigger', 'schedule.delete', 'incident.webhook', 'incident.declare', 'incident.note', 'incident.report', 'codec.decode', 'codec.encode']),
    target: z.string().describe('Run (workflowId), definition name or schedule id'),
    details: z.record(z.string(), z.unknown()).optional(),
  })
  .meta({ id: 'AuditEntry' });
export type AuditEntry = z.infer<typeof AuditEntry>;

export const AuditQuery = z.object({
  actor: z.string().optional(),
  action: AuditEntry.shape.action.optional(),
  target: z.string().optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
export type AuditQuery = z.infer<typeof AuditQuery>;

export class AuditLog {
  constructor(private readonly db: Db) {}

  /**
   * Resolves once the entry is committed. With `once`, the entry is recorded at most once under that
   * key: a retried request records what its first attempt may not have had the time to.
   */
  async record(entry: Omit<AuditEntry, 'at'>, opts: { once?: string } = {}): Promise<AuditEntry> {
    const full: AuditEntry = { at: new Date().toISOString(), ...entry };
    await this.db
      .insertInto('audit_entries')
      .values({ at: full.at, actor: storable(full.actor), action: full.action, target: storable(full.target), details: full.details === undefined ? null : JSON.stringify(storable(full.details)), once_key: opts.once === undefined ? null : storable(opts.once) })
      .onConflict((oc) => oc.column('once_key').doNothing())
      .execute();
    return full;
  }

  /** Newest first, at most `q.limit` entries. */
  async query(q: AuditQuery): Promise<AuditEntry[]> {
    let select = this.db.selectFrom('audit_entries').select(['at', 'actor', 'action', 'target', 'details']);
    if (q.actor) select = select.where('actor', '=', q.actor);
    if (q.action) select = select.where('action', '=', q.action);
    if (q.target) select = select.where('target', '=', q.target);
    if (q.since) select = select.where('at', '>=', new Date(q.since));
    if (q.until) select = select.where('at', '<=', new Date(q.until));
    const rows = await select.orderBy('at', 'desc').orderBy('id', 'desc').limit(q.limit).execute();
    return rows.map((r) => ({
      at: new Date(r.at).toISOString(),
      actor: r.actor,
      action: r.action as AuditEntry['action'],
      target: r.target,
      ...(r.details === null ? {} : { details: r.details }),
    }));
  }
}
