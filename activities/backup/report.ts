// The nightly report: per volume, outcome, bytes stored, duration, and the error of a failed one;
// totals, and a text for the admins' notification.
import { z } from 'zod';
import { defineActivity } from '../define.ts';

const Result = z.looseObject({ index: z.int(), status: z.string(), output: z.unknown().optional(), error: z.unknown().optional() });
const ItemOutput = z.looseObject({ storedBytes: z.number().optional(), size: z.number().optional(), startedAt: z.string().optional(), finishedAt: z.string().optional(), deleted: z.array(z.string()).optional(), object: z.string().optional() });

function errorText(error: unknown): string {
  if (!error) return 'failed';
  if (typeof error === 'string') return error;
  const e = error as { message?: string; type?: string; cause?: unknown };
  return e.message ?? JSON.stringify(error).slice(0, 500);
}

function human(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i ? v.toFixed(1) : v} ${units[i]}`;
}

export default defineActivity({
  name: 'backup.report',
  description: 'Summarises a nightly backup: per PVC outcome, bytes and duration; totals; a text for the notification.',
  input: z.strictObject({
    volumes: z.array(z.looseObject({ namespace: z.string(), pvc: z.string() })),
    results: z.array(Result),
    skipped: z.array(z.looseObject({ namespace: z.string(), pvc: z.string(), reason: z.string() })).default([]),
  }),
  output: z.object({
    total: z.int(),
    succeeded: z.int(),
    failed: z.int(),
    storedBytes: z.int(),
    volumes: z.array(
      z.object({ namespace: z.string(), pvc: z.string(), outcome: z.enum(['succeeded', 'failed']), storedBytes: z.int(), size: z.int(), durationSeconds: z.number(), object: z.string().optional(), retentionDeleted: z.int(), error: z.string().optional() }),
    ),
    text: z.string(),
  }),
  async handler({ volumes, results, skipped }) {
    const rows = volumes.map((v, index) => {
      const r = results.find((x) => x.index === index);
      const out = r?.status === 'completed' ? ItemOutput.safeParse(r.output).data : undefined;
      if (!out) return { namespace: v.namespace, pvc: v.pvc, outcome: 'failed' as const, storedBytes: 0, size: 0, durationSeconds: 0, retentionDeleted: 0, error: r ? errorText(r.error) : 'not run' };
      const duration = out.startedAt && out.finishedAt ? (Date.parse(out.finishedAt) - Date.parse(out.startedAt)) / 1000 : 0;
      return {
        namespace: v.namespace,
        pvc: v.pvc,
        outcome: 'succeeded' as const,
        storedBytes: out.storedBytes ?? 0,
        size: out.size ?? 0,
        durationSeconds: Math.round(duration * 10) / 10,
        ...(out.object ? { object: out.object } : {}),
        retentionDeleted: out.deleted?.length ?? 0,
      };
    });
    const failed = rows.filter((r) => r.outcome === 'failed');
    const storedBytes = rows.reduce((n, r) => n + r.storedBytes, 0);
    const lines = [
      `${rows.length - failed.length}/${rows.length} volumes backed up, ${human(storedBytes)} stored${skipped.length ? `, ${skipped.length} skipped` : ''}.`,
      ...rows.map((r) => (r.outcome === 'succeeded' ? `ok      ${r.namespace}/${r.pvc}: ${human(r.storedBytes)} in ${r.durationSeconds}s` : `FAILED  ${r.namespace}/${r.pvc}: ${r.error}`)),
      ...skipped.map((s) => `skipped ${s.namespace}/${s.pvc}: ${s.reason}`),
    ];
    return { total: rows.length, succeeded: rows.length - failed.length, failed: failed.length, storedBytes, volumes: rows, text: lines.join('\n') };
  },
});
