// incidents.collectTimeline: the incident's timeline, assembled from what the platform recorded in
// its window — the alerts (firing and resolved times), the Kubernetes events of the affected
// namespaces (core/v1 and events.k8s.io/v1: the same objects, deduplicated by uid), the ArgoCD
// sync history of the affected apps (Application status.history, from the cluster), the platform's
// own workflow runs (Temporal visibility), the admins' notes — merged, sorted and stripped of
// personal data (_pii.ts) but for the responders.
import { z } from 'zod';
import { ApplicationFailure } from '@temporalio/common';
import { optionalTsToDate } from '@temporalio/common/lib/time.js';
import { decodeTypedSearchAttributes } from '@temporalio/common/lib/converter/payload-search-attributes.js';
import proto from '@temporalio/proto';
import { defineActivity, type ActivityContext } from '../define.ts';
import { kube, type KObject } from '../kubernetes/_client.ts';
import { classified } from '../kubernetes/_errors.ts';
import { SEARCH_ATTRIBUTE_KEYS } from '../../workflows/search-attributes.ts';
import { redactor } from './_pii.ts';
import { temporalClient } from './_temporal.ts';
import { Alert, TimelineEntry, type TimelineEntry as Entry } from './_schemas.ts';

const { WorkflowExecutionStatus } = proto.temporal.api.enums.v1;

const AlertsEvent = z.object({ status: z.string().optional(), alerts: z.array(Alert).default([]), receivedAt: z.string().optional() });
const ResolvedEvent = z.object({ resolvedAt: z.string().optional(), alerts: z.array(Alert).default([]) });
const Note = z.object({ author: z.string(), text: z.string(), at: z.string() });

const Input = z.object({
  incidentId: z.string().describe('The incident run (left out of the workflow runs)'),
  title: z.string().optional(),
  openedAt: z.string().describe('RFC 3339: when the incident opened'),
  resolvedAt: z.string().optional().describe('RFC 3339; the window ends now when absent'),
  marginMinutes: z.int().min(0).max(1440).default(15).describe('The window starts this long before the first alert'),
  alerts: z.array(Alert).default([]).describe('Alerts the incident opened with'),
  alertEvents: z.array(z.unknown()).default([]).describe('The `alerts` events received (events.alerts)'),
  resolvedEvents: z.array(z.unknown()).default([]).describe('The `resolved` events received (events.resolved)'),
  notes: z.array(z.unknown()).default([]).describe('The `note` events received (events.note)'),
  namespaces: z.array(z.string()).default([]),
  apps: z.array(z.string()).default([]),
  responders: z.array(z.string()).default([]).describe('Ids, names or e-mails kept in the timeline'),
  maxKubernetesEvents: z.int().min(0).max(2000).default(300),
  maxRuns: z.int().min(0).max(1000).default(200),
});
type Input = z.output<typeof Input>;

const Output = z.object({
  window: z.object({ from: z.string(), to: z.string() }),
  entries: z.array(TimelineEntry),
  counts: z.record(z.string(), z.int()),
  redactions: z.int().describe('E-mail addresses and names replaced'),
  gaps: z.array(z.string()).describe('Sources that could not be read (the timeline is partial)'),
});

const iso = (t: string | number | Date | undefined | null): string | undefined => {
  if (t === undefined || t === null || t === '') return undefined;
  const ms = t instanceof Date ? t.getTime() : typeof t === 'number' ? t : Date.parse(t);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
};

/** Firing and resolved times of every alert seen (first occurrence of each), from the input and the events. */
export function alertEntries(input: Pick<Input, 'alerts' | 'alertEvents' | 'resolvedEvents'>): Entry[] {
  const alerts = [...input.alerts];
  for (const e of input.alertEvents) alerts.push(...(AlertsEvent.safeParse(e).data?.alerts ?? []));
  for (const e of input.resolvedEvents) alerts.push(...(ResolvedEvent.safeParse(e).data?.alerts ?? []));
  const out = new Map<string, Entry>();
  for (const a of alerts) {
    const name = a.labels.alertname ?? 'alert';
    const what = a.annotations.summary ?? a.annotations.description ?? a.annotations.message ?? '';
    const where = a.labels.namespace ? ` (${a.labels.namespace})` : '';
    const firing = iso(a.startsAt);
    if (firing && !out.has(`${a.fingerprint}/firing`)) out.set(`${a.fingerprint}/firing`, { at: firing, source: 'alert', text: `${name} firing${where}${what ? `: ${what}` : ''}`, ref: a.fingerprint });
    const ended = a.status === 'resolved' ? iso(a.endsAt) : undefined;
    if (ended && !out.has(`${a.fingerprint}/resolved`)) out.set(`${a.fingerprint}/resolved`, { at: ended, source: 'alert', text: `${name} resolved${where}`, ref: a.fingerprint });
  }
  return [...out.values()];
}

export function noteEntries(notes: unknown[]): Entry[] {
  return notes.flatMap((n) => {
    const note = Note.safeParse(n).data;
    const at = note && iso(note.at);
    return note && at ? [{ at, source: 'note' as const, text: `${note.author}: ${note.text}` }] : [];
  });
}

/** When a Kubernetes event (either API group's shape) last happened. */
function eventTime(e: Record<string, unknown>): string | undefined {
  const series = e.series as { lastObservedTime?: string } | undefined;
  const meta = e.metadata as { creationTimestamp?: string };
  return iso(series?.lastObservedTime) ?? iso(e.lastTimestamp as string) ?? iso(e.deprecatedLastTimestamp as string) ?? iso(e.eventTime as string) ?? iso(e.firstTimestamp as string) ?? iso(meta.creationTimestamp);
}

function eventEntry(e: KObject): Entry | undefined {
  const at = eventTime(e);
  if (!at) return undefined;
  const obj = (e.involvedObject ?? e.regarding) as { kind?: string; name?: string } | undefined;
  const message = String(e.message ?? e.note ?? '').trim();
  const count = Number((e.series as { count?: number } | undefined)?.count ?? e.count ?? (e.deprecatedCount as number | undefined) ?? 1);
  const text = `${String(e.type ?? 'Normal')} ${String(e.reason ?? '')} ${obj?.kind ?? ''}/${obj?.name ?? ''}${message ? `: ${message}` : ''}${count > 1 ? ` (×${count})` : ''}`;
  return { at, source: 'kubernetes', text: text.replace(/\s+/g, ' ').trim(), ref: `${e.metadata.namespace}/${e.metadata.name}` };
}

async function kubernetesEntries(input: Input, window: { from: number; to: number }, ctx: ActivityContext, gaps: string[]): Promise<Entry[]> {
  const client = kube();
  const byUid = new Map<string, Entry>();
  for (const namespace of input.namespaces) {
    for (const apiVersion of ['v1', 'events.k8s.io/v1']) {
      let list;
      try {
        list = await classified(`list ${apiVersion} events in ${namespace}`, ctx.signal, () => client.list(apiVersion, 'Event', { namespace, limit: 1000, signal: ctx.signal }));
      } catch (err) {
        if (err instanceof ApplicationFailure && err.nonRetryable) {
          gaps.push(`kubernetes ${apiVersion} events in ${namespace}: ${err.message}`);
          continue;
        }
        throw err;
      }
      for (const item of list.items) {
        const entry = eventEntry({ ...item, apiVersion, kind: 'Event' });
        const ms = entry ? Date.parse(entry.at) : NaN;
        if (entry && ms >= window.from && ms <= window.to) byUid.set(item.metadata.uid ?? `${namespace}/${item.metadata.name}`, entry);
      }
      ctx.heartbeat({ source: 'kubernetes', namespace });
    }
  }
  const entries = [...byUid.values()].sort(byTime);
  if (entries.length > input.maxKubernetesEvents) gaps.push(`kubernetes: ${entries.length - input.maxKubernetesEvents} later events left out`);
  return entries.slice(0, input.maxKubernetesEvents);
}

interface HistoryItem {
  id?: number;
  revision?: string;
  revisions?: string[];
  deployedAt?: string;
  deployStartedAt?: string;
  initiatedBy?: { username?: string; automated?: boolean };
}

async function argoEntries(input: Input, window: { from: number; to: number }, ctx: ActivityContext, gaps: string[]): Promise<Entry[]> {
  if (!input.apps.length) return [];
  let list;
  try {
    list = await classified('list ArgoCD Applications', ctx.signal, () => kube().list('argoproj.io/v1alpha1', 'Application', { limit: 1000, signal: ctx.signal }));
  } catch (err) {
    // No ArgoCD here (CRD absent) or no right to read it: say so, do not fail the timeline.
    if (err instanceof ApplicationFailure && err.nonRetryable) {
      gaps.push(`argocd: ${err.message}`);
      return [];
    }
    throw err;
  }
  const wanted = new Set(input.apps);
  const entries: Entry[] = [];
  for (const app of list.items.filter((a) => wanted.has(a.metadata.name))) {
    const status = (app.status ?? {}) as { history?: HistoryItem[] };
    for (const h of status.history ?? []) {
      const at = iso(h.deployedAt);
      if (!at || Date.parse(at) < window.from || Date.parse(at) > window.to) continue;
      const revision = (h.revision ?? h.revisions?.join(',') ?? '?').slice(0, 12);
      const by = h.initiatedBy?.automated ? ' (automated)' : h.initiatedBy?.username ? ` by ${h.initiatedBy.username}` : '';
      const started = iso(h.deployStartedAt);
      entries.push({ at, source: 'argocd', text: `ArgoCD synced ${app.metadata.name} to ${revision}${by}${started ? `, started ${started}` : ''}`, ref: `${app.metadata.namespace}/${app.metadata.name}#${h.id ?? ''}` });
    }
  }
  return entries;
}

/** One visibility row, read without its memo: runs of other producers may carry memos this worker cannot decode. */
interface RunRow {
  workflowId: string;
  runId: string;
  type: string;
  definition: string | undefined;
  hasParent: boolean;
  started: Date;
  closed: Date | undefined;
  status: string;
}

async function* visibleRuns(query: string): AsyncGenerator<RunRow> {
  const client = await temporalClient();
  let nextPageToken: Uint8Array = Buffer.alloc(0);
  do {
    const page = await client.workflowService.listWorkflowExecutions({ namespace: client.options.namespace, query, pageSize: 100, nextPageToken });
    for (const raw of page.executions) {
      yield {
        workflowId: raw.execution?.workflowId ?? '',
        runId: raw.execution?.runId ?? '',
        type: raw.type?.name ?? '',
        definition: decodeTypedSearchAttributes(raw.searchAttributes?.indexedFields).get(SEARCH_ATTRIBUTE_KEYS.definition),
        hasParent: !!raw.parentExecution,
        started: optionalTsToDate(raw.startTime) ?? new Date(0),
        closed: optionalTsToDate(raw.closeTime),
        status: WorkflowExecutionStatus[raw.status ?? 0]?.replace('WORKFLOW_EXECUTION_STATUS_', '') ?? 'UNKNOWN',
      };
    }
    nextPageToken = page.nextPageToken ?? Buffer.alloc(0);
  } while (nextPageToken.length);
}

async function runEntries(input: Input, window: { from: number; to: number }, ctx: ActivityContext, gaps: string[]): Promise<Entry[]> {
  if (!input.maxRuns) return [];
  const from = new Date(window.from).toISOString();
  const to = new Date(window.to).toISOString();
  // Runs that started in the window, or started before it and were still running or closed in it.
  const query = `StartTime <= "${to}" AND (CloseTime >= "${from}" OR ExecutionStatus = "Running")`;
  const entries: Entry[] = [];
  let seen = 0;
  try {
    for await (const r of visibleRuns(query)) {
      if (r.workflowId === input.incidentId || r.definition === 'incident' || r.type === 'incident') continue;
      if (r.type === 'forEachBatch' || r.hasParent) continue; // parts of a run, not runs of their own
      if (++seen > input.maxRuns) {
        gaps.push(`workflow runs: more than ${input.maxRuns} in the window, the rest left out`);
        break;
      }
      const label = `${r.definition ?? r.type} run ${r.workflowId}`;
      const ref = `${r.workflowId}/${r.runId}`;
      if (r.started.getTime() >= window.from) entries.push({ at: r.started.toISOString(), source: 'workflow', text: `${label} started`, ref });
      if (r.closed && r.closed.getTime() <= window.to) entries.push({ at: r.closed.toISOString(), source: 'workflow', text: `${label} ${r.status.toLowerCase()}`, ref });
    }
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    // Visibility unavailable: retry (the timeline would silently miss the runs otherwise).
    throw ApplicationFailure.create({ message: `workflow runs from Temporal visibility: ${(err as Error).message}`, type: 'TemporalVisibilityUnavailable', nonRetryable: false });
  }
  ctx.heartbeat({ source: 'workflows' });
  return entries;
}

const byTime = (a: Entry, b: Entry) => a.at.localeCompare(b.at) || a.source.localeCompare(b.source) || a.text.localeCompare(b.text);

export default defineActivity({
  name: 'incidents.collectTimeline',
  description:
    "An incident's timeline: alerts (firing/resolved), Kubernetes events of the affected namespaces, ArgoCD sync " +
    'history of the affected apps, the platform workflow runs in the window (Temporal visibility) and the notes, ' +
    'sorted, with e-mail addresses and known names replaced except the responders (constraint C01).',
  input: Input,
  output: Output,
  async handler(input, ctx) {
    const alerts = alertEntries(input);
    const firstAlert = Math.min(Date.parse(input.openedAt), ...alerts.map((a) => Date.parse(a.at)));
    const to = input.resolvedAt ? Date.parse(input.resolvedAt) : Date.now();
    if (Number.isNaN(firstAlert) || Number.isNaN(to)) throw ApplicationFailure.nonRetryable('openedAt/resolvedAt are not timestamps', 'InvalidTimestamp');
    const window = { from: firstAlert - input.marginMinutes * 60_000, to: Math.max(to, firstAlert) + 60_000 };
    const gaps: string[] = [];
    const kubernetes = await kubernetesEntries(input, window, ctx, gaps);
    const argocd = await argoEntries(input, window, ctx, gaps);
    const runs = await runEntries(input, window, ctx, gaps);
    const marks: Entry[] = [{ at: new Date(Date.parse(input.openedAt)).toISOString(), source: 'incident', text: `Incident opened${input.title ? `: ${input.title}` : ''}` }];
    if (input.resolvedAt) marks.push({ at: new Date(to).toISOString(), source: 'incident', text: 'Incident resolved' });
    const redact = redactor(input.responders);
    const entries = [...marks, ...alerts, ...kubernetes, ...argocd, ...runs, ...noteEntries(input.notes)]
      .map((e) => ({ ...e, text: redact(e.text) }))
      .sort(byTime);
    const counts: Record<string, number> = {};
    for (const e of entries) counts[e.source] = (counts[e.source] ?? 0) + 1;
    return { window: { from: new Date(window.from).toISOString(), to: new Date(window.to).toISOString() }, entries, counts, redactions: redact.count(), gaps };
  },
});
