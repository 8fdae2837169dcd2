// From a webhook payload to the contract of docs/INCIDENTS.md: the alerts that the opening rules
// select, in the incident's Alert shape, and the group's title, severity, clubs and owner.
import type { IncidentsConfig, Matcher, WebhookSource } from './config.ts';
import type { WebhookPayload } from './payloads.ts';

export interface Alert {
  fingerprint: string;
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt?: string;
  generatorURL?: string;
}

/** The `incident` definition's input (docs/INCIDENTS.md). */
export interface IncidentInput {
  source: WebhookSource | 'manual';
  groupKey: string;
  title: string;
  severity: string;
  kind?: 'availability' | 'security';
  clubs?: string[];
  owner?: string;
  declaredBy?: string;
  receiver?: string;
  externalURL?: string;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  alerts: Alert[];
  /** Alerts of the opening notification left out: by the sender (its max_alerts) or past the webhook's maxAlerts. */
  truncatedAlerts?: number;
}

/** One webhook notification, normalised. */
export interface Notification {
  source: WebhookSource;
  groupKey: string;
  status: 'firing' | 'resolved';
  receiver: string;
  externalURL: string;
  title?: string;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  /** Alerts selected by the opening rules. */
  alerts: Alert[];
  /** Alerts of the group the rules left out (counted, never tracked). */
  skipped: number;
  /** Alerts left out of the payload: by the sender (Alertmanager's max_alerts) plus those past the webhook's maxAlerts. */
  truncated: number;
}

// Alertmanager's zero time ("0001-01-01T00:00:00Z") says "no end yet".
const isZeroTime = (t: string | undefined) => !t || t.startsWith('0001-01-01');

function globMatch(pattern: string, value: string): boolean {
  return pattern.endsWith('*') ? value.startsWith(pattern.slice(0, -1)) : pattern === value;
}

const regexes = new Map<string, RegExp>();
function anchored(source: string): RegExp {
  let re = regexes.get(source);
  if (!re) regexes.set(source, (re = new RegExp(`^(?:${source})$`)));
  return re;
}

function matcherHolds(m: Matcher, labels: Record<string, string>): boolean {
  const v = labels[m.label] ?? '';
  switch (m.op) {
    case '=':
      return v === m.value;
    case '!=':
      return v !== m.value;
    case '=~':
      return anchored(m.value).test(v);
    case '!~':
      return !anchored(m.value).test(v);
  }
}

/** Why an alert does not open an incident, or undefined when the rules select it. */
export function ruleMiss(config: IncidentsConfig, labels: Record<string, string>): string | undefined {
  const { severityLabel, severities, namespaceLabel, namespaces, matchers } = config.open;
  const severity = labels[severityLabel];
  if (severities.length && !severities.includes(severity ?? '')) return `${severityLabel}=${severity ?? '(none)'} is not one of ${severities.join(', ')}`;
  const ns = labels[namespaceLabel];
  if (namespaces.include.length && !namespaces.include.some((p) => ns !== undefined && globMatch(p, ns))) return `${namespaceLabel}=${ns ?? '(none)'} is not included`;
  if (ns !== undefined && namespaces.exclude.some((p) => globMatch(p, ns))) return `${namespaceLabel}=${ns} is excluded`;
  const failed = matchers.find((m) => !matcherHolds(m, labels));
  if (failed) return `matcher ${failed.label}${failed.op}"${failed.value}" does not hold`;
  return undefined;
}

export function normalizeAlert(a: WebhookPayload['alerts'][number]): Alert {
  return {
    fingerprint: a.fingerprint,
    status: a.status,
    labels: a.labels,
    annotations: a.annotations,
    startsAt: a.startsAt,
    ...(isZeroTime(a.endsAt) ? {} : { endsAt: a.endsAt }),
    ...(a.generatorURL ? { generatorURL: a.generatorURL } : {}),
  };
}

/**
 * Grafana's title without its notification-state prefix (`[FIRING:3] `, `[RESOLVED] `): the count and
 * state change with every notification, the incident's title is the same from open to report.
 */
export function withoutStatePrefix(title: string): string {
  return title.replace(/^\s*(\[(FIRING|RESOLVED)(:\d+)?\]\s*)+/i, '').trim();
}

export function normalizeNotification(source: WebhookSource, p: WebhookPayload, config: IncidentsConfig): Notification & { misses: string[] } {
  const alerts: Alert[] = [];
  const misses: string[] = [];
  for (const a of p.alerts) {
    // The group's common labels complete an alert's own (Grafana may leave labels out of alerts).
    const miss = ruleMiss(config, { ...p.commonLabels, ...a.labels });
    if (miss) misses.push(`${a.fingerprint}: ${miss}`);
    else alerts.push(normalizeAlert(a));
  }
  const title = 'title' in p && typeof p.title === 'string' ? withoutStatePrefix(p.title) || undefined : undefined;
  return {
    source,
    groupKey: p.groupKey,
    status: p.status,
    receiver: p.receiver,
    externalURL: p.externalURL,
    ...(title ? { title } : {}),
    commonLabels: p.commonLabels,
    commonAnnotations: p.commonAnnotations,
    alerts,
    skipped: misses.length,
    truncated: p.truncatedAlerts,
    misses,
  };
}

/** Clubs concerned by the alerts: the club label, else the namespace mapping. */
export function clubsOf(config: IncidentsConfig, alerts: Alert[], common: Record<string, string>): string[] {
  const clubs = new Set<string>();
  for (const labels of [common, ...alerts.map((a) => a.labels)]) {
    const club = labels[config.clubs.label] ?? config.clubs.namespaces[labels[config.open.namespaceLabel] ?? ''];
    if (club) clubs.add(club);
  }
  return [...clubs].sort();
}

export function ownerOf(config: IncidentsConfig, clubs: string[]): string | undefined {
  for (const c of clubs) if (config.owners.byClub[c]) return config.owners.byClub[c];
  return config.owners.default;
}

/** The input of a new incident opened by a webhook notification. */
export function incidentInputOf(config: IncidentsConfig, n: Notification): IncidentInput {
  const first = n.alerts.find((a) => a.status === 'firing') ?? n.alerts[0];
  const severity = n.commonLabels[config.open.severityLabel] ?? first?.labels[config.open.severityLabel] ?? 'unknown';
  const name = n.commonLabels.alertname ?? first?.labels.alertname ?? 'alert';
  const summary = n.commonAnnotations.summary ?? first?.annotations.summary;
  const title = (n.title ?? (summary ? `${name}: ${summary}` : name)).slice(0, 300);
  const clubs = clubsOf(config, n.alerts, n.commonLabels);
  const owner = ownerOf(config, clubs);
  return {
    source: n.source,
    groupKey: n.groupKey,
    title,
    severity,
    ...(clubs.length ? { clubs } : {}),
    ...(owner ? { owner } : {}),
    ...(n.receiver ? { receiver: n.receiver } : {}),
    ...(n.externalURL ? { externalURL: n.externalURL } : {}),
    commonLabels: n.commonLabels,
    commonAnnotations: n.commonAnnotations,
    alerts: n.alerts,
    ...(n.truncated ? { truncatedAlerts: n.truncated } : {}),
  };
}
