// incidents.reviewDeadline and its calendar: 5 business days in Montréal, weekends and Québec
// statutory holidays skipped, end of day in local time across DST changes. Pure: no server.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { z } from 'zod';
import { addBusinessDays, easterSunday, isBusinessDay, quebecHolidays, zonedInstant } from '../../activities/incidents/_business-days.ts';
import reviewDeadline from '../../activities/incidents/reviewDeadline.ts';
import type { ActivityContext } from '../../activities/define.ts';

const ctx = { attempt: 1, idempotencyKey: 'test', heartbeat() {}, signal: new AbortController().signal, log: console } as unknown as ActivityContext;
const deadline = (input: z.input<typeof reviewDeadline.input>) => reviewDeadline.handler(reviewDeadline.input.parse(input), ctx);

describe('Québec holidays', () => {
  it('computes Easter and the movable holidays of several years', () => {
    assert.deepEqual(['2024', '2025', '2026', '2027', '2038'].map((y) => easterSunday(Number(y))), ['2024-03-31', '2025-04-20', '2026-04-05', '2027-03-28', '2038-04-25']);
    const h2026 = quebecHolidays(2026);
    assert.deepEqual([...h2026.keys()], ['2026-01-01', '2026-04-03', '2026-04-06', '2026-05-18', '2026-06-24', '2026-07-01', '2026-09-07', '2026-10-12', '2026-12-25']);
    // Patriotes: the Monday before May 25 (May 24 itself when it is a Monday, as in 2027).
    assert.ok(quebecHolidays(2027).has('2027-05-24'));
    assert.ok(quebecHolidays(2025).has('2025-05-19'));
    // June 24 and July 1 on a Sunday are observed on the Monday (2029: both Sundays).
    assert.ok(quebecHolidays(2029).has('2029-06-25') && quebecHolidays(2029).has('2029-07-02'));
    assert.equal(isBusinessDay('2026-12-25'), false);
    assert.equal(isBusinessDay('2026-12-28'), true);
  });

  it('adds business days over weekends and holidays', () => {
    assert.deepEqual(addBusinessDays('2026-11-16', 5), { date: '2026-11-23', holidays: [] }); // Monday -> next Monday
    assert.deepEqual(addBusinessDays('2026-11-20', 5).date, '2026-11-27'); // Friday -> next Friday
    const easter = addBusinessDays('2026-04-02', 5); // Thursday before Good Friday
    assert.equal(easter.date, '2026-04-13');
    assert.deepEqual(easter.holidays.map((h) => h.name), ['Vendredi saint', 'Lundi de Pâques']);
    assert.equal(addBusinessDays('2026-12-22', 5).date, '2026-12-30'); // Christmas on the Friday
  });

  it('places 17:00 Montréal in UTC on both sides of DST', () => {
    assert.equal(zonedInstant('2026-07-10', '17:00', 'America/Montreal').toISOString(), '2026-07-10T21:00:00.000Z');
    assert.equal(zonedInstant('2026-01-12', '17:00', 'America/Montreal').toISOString(), '2026-01-12T22:00:00.000Z');
    assert.equal(zonedInstant('2026-03-09', '17:00', 'America/Montreal').toISOString(), '2026-03-09T21:00:00.000Z'); // day after the change
  });
});

describe('incidents.reviewDeadline', () => {
  it('is due at 17:00 Montréal on the 5th business day after the local resolution date, reminders 48 h and 24 h before', async () => {
    // Resolved Friday 22:30 Montréal = Saturday 03:30 UTC: the local date (Friday) counts.
    const out = await deadline({ from: '2026-11-21T03:30:00Z' });
    assert.equal(out.dueDate, '2026-11-27');
    assert.equal(out.due, '2026-11-27T22:00:00.000Z');
    assert.deepEqual(out.reminders, ['2026-11-25T22:00:00.000Z', '2026-11-26T22:00:00.000Z']);
    assert.deepEqual(out.holidaysSkipped, []);
  });

  it('skips Easter and names the holidays skipped; a shorter window keeps only reminders still ahead', async () => {
    const out = await deadline({ from: '2026-04-02T15:00:00Z', remindBeforeHours: [24, 500] });
    assert.equal(out.dueDate, '2026-04-13');
    assert.deepEqual(out.holidaysSkipped.map((h) => h.date), ['2026-04-03', '2026-04-06']);
    assert.deepEqual(out.reminders, ['2026-04-12T21:00:00.000Z']);
  });

  it('refuses a bad timestamp or time zone, non-retryably', async () => {
    await assert.rejects(deadline({ from: 'yesterday' }), (e: Error & { type?: string; nonRetryable?: boolean }) => e.type === 'InvalidTimestamp' && e.nonRetryable === true);
    await assert.rejects(deadline({ from: '2026-04-02T15:00:00Z', timeZone: 'Mars/Olympus' }), (e: Error & { type?: string }) => e.type === 'InvalidTimeZone');
  });
});
