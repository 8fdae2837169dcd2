// incidents.reviewDeadline: when the post-incident report is due — the end of the n-th business day
// after resolution in Montréal (weekends and Québec statutory holidays skipped) — and when to remind
// the owner. Pure computation; an activity so the rules can change without touching running runs.
import { z } from 'zod';
import { ApplicationFailure } from '@temporalio/common';
import { defineActivity } from '../define.ts';
import { addBusinessDays, localDate, zonedInstant } from './_business-days.ts';

export default defineActivity({
  name: 'incidents.reviewDeadline',
  description:
    'Review deadline of a post-incident report: end of day (endOfDay, local time) of the n-th business day after `from` ' +
    'in the time zone (default America/Montreal), skipping weekends and Québec statutory holidays; reminders at ' +
    '`remindBefore` (durations in hours) before it, only those still ahead.',
  input: z.strictObject({
    from: z.string().describe('RFC 3339: usually the resolution time'),
    businessDays: z.int().min(1).max(60).default(5),
    timeZone: z.string().default('America/Montreal'),
    endOfDay: z.string().regex(/^\d\d:\d\d$/).default('17:00'),
    remindBeforeHours: z.array(z.number().min(0)).default([48, 24]),
  }),
  output: z.object({
    due: z.string().describe('RFC 3339 (UTC)'),
    dueDate: z.string().describe('YYYY-MM-DD, local'),
    holidaysSkipped: z.array(z.object({ date: z.string(), name: z.string() })),
    reminders: z.array(z.string()).describe('RFC 3339 instants, ascending'),
  }),
  async handler({ from, businessDays, timeZone, endOfDay, remindBeforeHours }) {
    const start = new Date(from);
    if (Number.isNaN(start.getTime())) throw ApplicationFailure.nonRetryable(`from is not a timestamp: ${from}`, 'InvalidTimestamp');
    try {
      new Intl.DateTimeFormat('en', { timeZone });
    } catch {
      throw ApplicationFailure.nonRetryable(`unknown time zone ${timeZone}`, 'InvalidTimeZone');
    }
    const { date, holidays } = addBusinessDays(localDate(start, timeZone), businessDays);
    const due = zonedInstant(date, endOfDay, timeZone);
    const reminders = [...new Set(remindBeforeHours)]
      .map((h) => new Date(due.getTime() - h * 3_600_000))
      .filter((t) => t.getTime() > start.getTime())
      .sort((a, b) => a.getTime() - b.getTime())
      .map((t) => t.toISOString());
    return { due: due.toISOString(), dueDate: date, holidaysSkipped: holidays, reminders };
  },
});
