// The retention policy of one PVC's backups, as a pure function: keep the newest backup of each of
// the last N days, M ISO weeks and K months that have a backup (calendar of America/Toronto, where
// the club lives: a backup at 01:00 local on Monday belongs to Monday even though it is Monday 05:00 UTC),
// and always the newest verified backup (the newest complete one when none is verified). Everything
// else is deleted — and nothing that is not in the list given.

export interface RetentionPolicy {
  daily: number;
  weekly: number;
  monthly: number;
}

export interface RetentionCandidate {
  /** Identifies the backup (its object prefix). */
  id: string;
  /** RFC 3339: when the snapshot was taken. */
  snapshotTime: string;
  verified: boolean;
}

export interface RetentionDecision {
  id: string;
  snapshotTime: string;
  keep: boolean;
  reasons: string[];
}

export const RETENTION_TIME_ZONE = 'America/Toronto';

const dayFormat = new Map<string, Intl.DateTimeFormat>();
function localDay(ms: number, timeZone: string): { y: number; m: number; d: number } {
  let f = dayFormat.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    dayFormat.set(timeZone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(ms).map((p) => [p.type, p.value]));
  return { y: Number(parts.year), m: Number(parts.month), d: Number(parts.day) };
}

/** ISO 8601 week of a calendar date: `2026-W47`. */
export function isoWeek(y: number, m: number, d: number): string {
  const date = new Date(Date.UTC(y, m - 1, d));
  const weekday = date.getUTCDay() || 7; // Monday 1 .. Sunday 7
  date.setUTCDate(date.getUTCDate() + 4 - weekday); // the Thursday of that week decides its year
  const year = date.getUTCFullYear();
  const week = Math.ceil(((date.getTime() - Date.UTC(year, 0, 1)) / 86_400_000 + 1) / 7);
  return `${year}-W${String(week).padStart(2, '0')}`;
}

/** The local day, ISO week and month of an instant. */
export function periods(snapshotTime: string, timeZone = RETENTION_TIME_ZONE): { day: string; week: string; month: string } {
  const { y, m, d } = localDay(Date.parse(snapshotTime), timeZone);
  const pad = (n: number) => String(n).padStart(2, '0');
  return { day: `${y}-${pad(m)}-${pad(d)}`, week: isoWeek(y, m, d), month: `${y}-${pad(m)}` };
}

/** Decisions for every candidate, newest first. Candidates with an unparsable time are kept. */
export function retentionPlan(candidates: readonly RetentionCandidate[], policy: RetentionPolicy, timeZone = RETENTION_TIME_ZONE): RetentionDecision[] {
  const valid = candidates.filter((c) => Number.isFinite(Date.parse(c.snapshotTime)));
  const newestFirst = [...valid].sort((a, b) => Date.parse(b.snapshotTime) - Date.parse(a.snapshotTime) || b.id.localeCompare(a.id));
  const reasons = new Map<string, string[]>(newestFirst.map((c) => [c.id, []]));
  const keepPer = (kind: 'day' | 'week' | 'month', label: string, count: number) => {
    const seen = new Set<string>();
    for (const c of newestFirst) {
      if (seen.size >= count) break;
      const period = periods(c.snapshotTime, timeZone)[kind];
      if (seen.has(period)) continue;
      seen.add(period); // the newest backup of the period stands for it
      reasons.get(c.id)!.push(`${label} ${period}`);
    }
  };
  keepPer('day', 'daily', policy.daily);
  keepPer('week', 'weekly', policy.weekly);
  keepPer('month', 'monthly', policy.monthly);
  const lastGood = newestFirst.find((c) => c.verified) ?? newestFirst[0];
  if (lastGood) reasons.get(lastGood.id)!.push('last good backup');

  const decisions = newestFirst.map((c) => ({ id: c.id, snapshotTime: c.snapshotTime, keep: reasons.get(c.id)!.length > 0, reasons: reasons.get(c.id)! }));
  const invalid = candidates.filter((c) => !Number.isFinite(Date.parse(c.snapshotTime))).map((c) => ({ id: c.id, snapshotTime: c.snapshotTime, keep: true, reasons: ['unparsable snapshot time'] }));
  return [...decisions, ...invalid];
}
