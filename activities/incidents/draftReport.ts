// incidents.draftReport: the post-incident report as Markdown, from the template in
// templates/report.md (or CEDILLE_INCIDENT_TEMPLATE): summary, impact (duration, apps, clubs), root
// causes, trigger, resolution, detection, action items (owner, due date), lessons learned and the
// timeline. Before the owner submits, the sections say what is expected. Two versions: the full one
// (the wiki), and the audience's — the clubs for an availability incident (no detection,
// lessons or platform internals in the timeline), ÉTS IT for a security one. Personal data is
// stripped but for the responders (constraint C01).
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ApplicationFailure } from '@temporalio/common';
import { defineActivity } from '../define.ts';
import { redactor } from './_pii.ts';
import { render } from './_template.ts';
import { IncidentFacts, TimelineEntry } from './_schemas.ts';

const TEMPLATE = new URL('./templates/report.md', import.meta.url);

export const SubmittedReport = z.object({
  submittedBy: z.string(),
  summary: z.string(),
  impact: z.string().optional(),
  rootCauses: z.string(),
  trigger: z.string(),
  resolution: z.string(),
  detection: z.string(),
  actionItems: z.array(z.object({ title: z.string(), owner: z.string(), due: z.string() })).default([]),
  lessons: z.string(),
});

const TO_COMPLETE = '_To be completed by the report owner._';

/** A human duration: `2 h 05 min`, `3 d 4 h`, `45 s`. */
export function humanDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return 'unknown';
  const s = Math.round(ms / 1000);
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d) return `${d} d ${h} h`;
  if (h) return `${h} h ${String(m).padStart(2, '0')} min`;
  if (m) return `${m} min`;
  return `${s} s`;
}

function localTime(iso: string | undefined, timeZone: string): string {
  if (!iso) return 'not yet';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
      .formatToParts(d)
      .map((x) => [x.type, x.value]),
  );
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
}

/** Table cells: one line, no pipe. */
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ').trim();

function slug(title: string): string {
  return (
    title
      .normalize('NFD')
      .replace(/[\u0300-\u036f]/g, '')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 50) || 'incident'
  );
}

/** Timeline sources the clubs see: what happened to their service, not the platform's internals. */
const CLUB_SOURCES = new Set(['incident', 'alert', 'note']);

export default defineActivity({
  name: 'incidents.draftReport',
  description:
    'Renders the post-incident report (Markdown, templates/report.md): the full version for the wiki and the ' +
    "audience's version (clubs for availability, ÉTS IT for security); placeholders until the owner submits; " +
    'personal data stripped but for the responders.',
  input: z.object({
    incident: IncidentFacts,
    owner: z.string(),
    reviewDue: z.string().optional().describe('RFC 3339'),
    report: SubmittedReport.optional().describe('The owner’s submitted fields; absent for the first draft'),
    approved: z.boolean().default(false),
    timeline: z.array(TimelineEntry).default([]),
    responders: z.array(z.string()).default([]),
    timeZone: z.string().default('America/Montreal'),
  }),
  output: z.object({
    path: z.string().describe('Where the report goes in the wiki repository'),
    title: z.string(),
    markdown: z.string().describe('Full version (the wiki)'),
    audience: z.enum(['clubs', 'ets']),
    audienceMarkdown: z.string().describe('The version sent to the audience'),
  }),
  async handler({ incident, owner, reviewDue, report, approved, timeline, responders, timeZone }) {
    const file = process.env.CEDILLE_INCIDENT_TEMPLATE;
    let template: string;
    try {
      template = readFileSync(file ?? TEMPLATE, 'utf8');
    } catch (err) {
      throw ApplicationFailure.nonRetryable(`report template ${file ?? TEMPLATE.pathname}: ${(err as Error).message}`, 'ReportTemplateMissing');
    }
    const people = [owner, ...responders, ...(report ? [report.submittedBy, ...report.actionItems.map((a) => a.owner)] : [])];
    const redact = redactor(people);
    const text = (s: string | undefined) => (s?.trim() ? redact(s.trim()) : TO_COMPLETE);
    const end = incident.resolvedAt ? Date.parse(incident.resolvedAt) : NaN;
    const duration = humanDuration(end - Date.parse(incident.startedAt));
    const audience: 'clubs' | 'ets' = incident.kind === 'security' ? 'ets' : 'clubs';

    const timelineTable = (entries: z.infer<typeof TimelineEntry>[]) =>
      entries.length
        ? ['| Time | Source | Event |', '|---|---|---|', ...entries.map((e) => `| ${localTime(e.at, timeZone)} | ${e.source} | ${cell(redact(e.text))} |`)].join('\n')
        : '_No entries._';
    const actionItems = report?.actionItems.length
      ? ['| Action | Owner | Due |', '|---|---|---|', ...report.actionItems.map((a) => `| ${cell(redact(a.title))} | ${cell(a.owner)} | ${cell(a.due)} |`)].join('\n')
      : report
        ? '_None._'
        : TO_COMPLETE;

    const values = (forAudience: 'internal' | 'clubs' | 'ets') => ({
      id: incident.id,
      title: cell(redact(incident.title)),
      kind: incident.kind,
      severity: incident.severity,
      startedAt: localTime(incident.startedAt, timeZone),
      resolvedAt: localTime(incident.resolvedAt, timeZone),
      duration,
      owner: cell(owner),
      reviewDue: localTime(reviewDue, timeZone),
      status: approved ? 'approved' : report ? 'submitted for review' : 'draft',
      summary: text(report?.summary),
      impact: report?.impact?.trim() ? redact(report.impact.trim()) : '',
      apps: incident.apps.length ? incident.apps.join(', ') : 'none identified',
      clubs: incident.clubs.length ? incident.clubs.map((c) => c.name).join(', ') : 'none identified',
      rootCauses: text(report?.rootCauses),
      trigger: text(report?.trigger),
      resolution: text(report?.resolution),
      detection: text(report?.detection),
      actionItems,
      lessons: text(report?.lessons),
      timeZone,
      timeline: timelineTable(forAudience === 'clubs' ? timeline.filter((e) => CLUB_SOURCES.has(e.source)) : timeline),
    });
    const flags = (forAudience: 'internal' | 'clubs' | 'ets') => ({ forClubs: forAudience === 'clubs', forEts: forAudience === 'ets', notForClubs: forAudience !== 'clubs' });
    const draw = (a: 'internal' | 'clubs' | 'ets') => render(template, values(a), flags(a)).replace(/\n{3,}/g, '\n\n');
    const started = new Date(incident.startedAt);
    const day = Number.isNaN(started.getTime()) ? 'undated' : started.toISOString().slice(0, 10);
    return {
      path: `incidents/${day.slice(0, 4)}/${day}-${slug(incident.title)}-${incident.id.slice(-8)}.md`,
      title: `Post-incident report: ${redact(incident.title)}`,
      markdown: draw('internal'),
      audience,
      audienceMarkdown: draw(audience),
    };
  },
});
