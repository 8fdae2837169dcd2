// The retention policy (a pure function) over simulated months and a year of nightly backups, applied
// night after night as the nightly workflow does, and properties over arbitrary histories.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isoWeek, periods, retentionPlan, type RetentionCandidate, type RetentionPolicy } from '../../activities/backup/_retention.ts';

/** 03:30 in Toronto (02:30 does not exist on the spring DST night) on each day from `start` (a local date), as UTC instants (DST-aware). */
function nightly(start: string, days: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < days; i++) {
    const d = new Date(`${start}T12:00:00Z`);
    d.setUTCDate(d.getUTCDate() + i);
    const day = d.toISOString().slice(0, 10);
    // Toronto is UTC-4 in summer time, UTC-5 otherwise; pick the offset that gives 03:30 local.
    const at = [4, 5].map((h) => new Date(`${day}T${String(3 + h).padStart(2, '0')}:30:00Z`)).find((t) => periods(t.toISOString()).day === day && new Intl.DateTimeFormat('en-CA', { timeZone: 'America/Toronto', hour: '2-digit', hourCycle: 'h23' }).format(t) === '03');
    out.push(at!.toISOString());
  }
  return out;
}

/** Runs the policy every night after that night's backup, deleting what it drops; returns what remains. */
function simulate(times: string[], policy: RetentionPolicy, verified = (_t: string) => true): { remaining: RetentionCandidate[]; deletedEver: string[] } {
  let stored: RetentionCandidate[] = [];
  const deletedEver: string[] = [];
  for (const t of times) {
    stored.push({ id: t, snapshotTime: t, verified: verified(t) });
    const plan = retentionPlan(stored, policy);
    const drop = new Set(plan.filter((d) => !d.keep).map((d) => d.id));
    deletedEver.push(...drop);
    stored = stored.filter((c) => !drop.has(c.id));
  }
  return { remaining: stored, deletedEver };
}

const localDay = (t: string) => periods(t).day;

describe('retention policy', () => {
  it('uses the Toronto calendar: a 01:30 local backup belongs to its local day, week and month', () => {
    // 2026-11-02 01:30 EST = 06:30 UTC; 2026-03-01 04:30 UTC = Feb 28 23:30 EST.
    assert.deepEqual(periods('2026-11-02T06:30:00Z'), { day: '2026-11-02', week: '2026-W45', month: '2026-11' });
    assert.deepEqual(periods('2026-03-01T04:30:00Z'), { day: '2026-02-28', week: '2026-W09', month: '2026-02' });
    assert.equal(isoWeek(2026, 1, 1), '2026-W01');
    assert.equal(isoWeek(2027, 1, 1), '2026-W53');
    assert.equal(isoWeek(2025, 12, 29), '2026-W01');
  });

  it('a simulated month (Oct 15 - Nov 21 2026, across the DST change): 7 daily, 4 weekly, 6 monthly', () => {
    const times = nightly('2026-10-15', 38);
    const { remaining } = simulate(times, { daily: 7, weekly: 4, monthly: 6 });
    const days = remaining.map((c) => localDay(c.snapshotTime)).sort();
    // The last 7 nights, plus the newest of each of the 4 last ISO weeks (Sundays, and the current week's
    // newest which is already a daily one), plus the newest of October (Oct 31).
    assert.deepEqual(days, ['2026-10-31', '2026-11-01', '2026-11-08', '2026-11-15', '2026-11-16', '2026-11-17', '2026-11-18', '2026-11-19', '2026-11-20', '2026-11-21']);
    const plan = retentionPlan(remaining, { daily: 7, weekly: 4, monthly: 6 });
    assert.ok(plan.every((d) => d.keep), 'a second pass deletes nothing');
    assert.deepEqual(plan.find((d) => localDay(d.snapshotTime) === '2026-10-31')!.reasons, ['monthly 2026-10']);
    assert.deepEqual(plan.find((d) => localDay(d.snapshotTime) === '2026-11-21')!.reasons, ['daily 2026-11-21', 'weekly 2026-W47', 'monthly 2026-11', 'last good backup']);
  });

  it('a simulated year: 7 + 4 + 12 distinct periods at most, the monthly ones the last night of each month', () => {
    const times = nightly('2025-11-22', 365);
    const policy = { daily: 7, weekly: 4, monthly: 12 };
    const { remaining, deletedEver } = simulate(times, policy);
    assert.equal(remaining.length + deletedEver.length, 365);
    assert.ok(remaining.length <= 7 + 4 + 12);
    const monthly = retentionPlan(remaining, policy).filter((d) => d.reasons.some((r) => r.startsWith('monthly')));
    assert.equal(monthly.length, 12);
    for (const d of monthly.slice(1)) {
      const day = localDay(d.snapshotTime);
      const next = new Date(`${day}T12:00:00Z`);
      next.setUTCDate(next.getUTCDate() + 1);
      assert.equal(next.getUTCDate(), 1, `${day} is the last day of its month`);
    }
  });

  it('never deletes the newest verified backup, even when no period keeps it', () => {
    const times = nightly('2026-11-01', 10);
    const verified = new Set([times[2]]);
    const plan = retentionPlan(times.map((t) => ({ id: t, snapshotTime: t, verified: verified.has(t) })), { daily: 2, weekly: 0, monthly: 0 });
    const kept = plan.filter((d) => d.keep).map((d) => d.id);
    assert.deepEqual(kept.sort(), [times[2], times[8], times[9]].sort());
    assert.deepEqual(plan.find((d) => d.id === times[2])!.reasons, ['last good backup']);
    // A policy of zeros still keeps the newest good one.
    const zero = retentionPlan(times.map((t) => ({ id: t, snapshotTime: t, verified: true })), { daily: 0, weekly: 0, monthly: 0 });
    assert.deepEqual(zero.filter((d) => d.keep).map((d) => d.id), [times[9]]);
  });

  it('two backups on one day: the newer one stands for the day, the older one goes', () => {
    const plan = retentionPlan(
      [
        { id: 'a', snapshotTime: '2026-11-20T07:30:00Z', verified: true },
        { id: 'b', snapshotTime: '2026-11-20T20:00:00Z', verified: true },
        { id: 'c', snapshotTime: 'not a time', verified: false },
      ],
      { daily: 3, weekly: 0, monthly: 0 },
    );
    assert.deepEqual(plan.map((d) => [d.id, d.keep]), [['b', true], ['a', false], ['c', true]]);
  });

  it('properties: only listed ids, the newest verified kept, bounded, stable', () => {
    const candidate = fc.record({
      id: fc.uuid(),
      snapshotTime: fc.date({ min: new Date('2024-01-01T00:00:00Z'), max: new Date('2027-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString()),
      verified: fc.boolean(),
    });
    const policy = fc.record({ daily: fc.integer({ min: 0, max: 10 }), weekly: fc.integer({ min: 0, max: 6 }), monthly: fc.integer({ min: 0, max: 13 }) });
    fc.assert(
      fc.property(fc.uniqueArray(candidate, { selector: (c) => c.id, maxLength: 60 }), policy, (cs, p) => {
        const plan = retentionPlan(cs, p);
        assert.deepEqual(plan.map((d) => d.id).sort(), cs.map((c) => c.id).sort());
        const kept = plan.filter((d) => d.keep);
        assert.ok(kept.length <= p.daily + p.weekly + p.monthly + 1);
        const newestVerified = [...cs].filter((c) => c.verified).sort((a, b) => Date.parse(b.snapshotTime) - Date.parse(a.snapshotTime) || b.id.localeCompare(a.id))[0];
        if (newestVerified) assert.ok(kept.some((d) => d.id === newestVerified.id));
        if (cs.length) assert.ok(kept.length >= 1);
        // Applying the plan, then planning again, deletes nothing more.
        const again = retentionPlan(cs.filter((c) => kept.some((k) => k.id === c.id)), p);
        assert.ok(again.every((d) => d.keep));
      }),
      { numRuns: 300 },
    );
  });
});
