// The audit trail: who started, approved, rejected, cancelled, registered what and when. One JSON
// line per entry in `<data dir>/audit.jsonl`, appended synchronously so an acknowledged action is
// on disk; Temporal history remains the record of what the workflows did.
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';

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
  constructor(readonly file: string) {
    mkdirSync(dirname(file), { recursive: true });
  }

  record(entry: Omit<AuditEntry, 'at'>): AuditEntry {
    const full: AuditEntry = { at: new Date().toISOString(), ...entry };
    appendFileSync(this.file, `${JSON.stringify(full)}\n`);
    return full;
  }

  /** Newest first. */
  query(q: AuditQuery): AuditEntry[] {
    if (!existsSync(this.file)) return [];
    const out: AuditEntry[] = [];
    const lines = readFileSync(this.file, 'utf8').split('\n');
    for (let i = lines.length - 1; i >= 0 && out.length < q.limit; i--) {
      if (!lines[i]) continue;
      const e = JSON.parse(lines[i]!) as AuditEntry;
      if (q.actor && e.actor !== q.actor) continue;
      if (q.action && e.action !== q.action) continue;
      if (q.target && e.target !== q.target) continue;
      if (q.since && e.at < new Date(q.since).toISOString()) continue;
      if (q.until && e.at > new Date(q.until).toISOString()) continue;
      out.push(e);
    }
    return out;
  }
}
