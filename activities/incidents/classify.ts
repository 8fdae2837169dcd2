// incidents.classify: what kind of incident this is (availability or security), how severe, and
// whom it touches (clubs, ArgoCD apps, namespaces) — from the alerts' labels and the club registry
// (CEDILLE_CLUBS_CONFIG, _clubs.ts) — and who is told at open (notify.send targets).
import { z } from 'zod';
import { defineActivity } from '../define.ts';
import { clubTarget, loadClubs, type Club, type ClubsConfig } from './_clubs.ts';
import { Alert, Kind } from './_schemas.ts';

type Labels = Record<string, string>;

/** availability|security from an explicit kind, a category label/annotation, or the alert names. */
export function kindOf(input: { kind?: 'availability' | 'security' | null | undefined; labelSets: Labels[] }, config: ClubsConfig): z.infer<typeof Kind> {
  if (input.kind) return input.kind;
  for (const labels of input.labelSets) {
    for (const key of config.security.labels) {
      const value = labels[key]?.toLowerCase();
      if (value === 'security' || value === 'availability') return value;
    }
  }
  const patterns = config.security.alertnames.map((p) => new RegExp(p, 'i'));
  const names = input.labelSets.map((l) => l.alertname).filter((n): n is string => !!n);
  return names.some((n) => patterns.some((p) => p.test(n))) ? 'security' : 'availability';
}

const SEVERITY_ORDER = ['critical', 'major', 'minor', 'info'];
const SEVERITY_ALIASES: Record<string, string> = { page: 'critical', high: 'critical', error: 'major', warning: 'minor', warn: 'minor', low: 'minor', none: 'info' };

/** The most severe of the declared severity and the alerts' `severity` labels, normalised. */
export function severityOf(declared: string | undefined, labelSets: Labels[]): string {
  const all = [declared, ...labelSets.map((l) => l.severity)].filter((s): s is string => !!s).map((s) => s.toLowerCase());
  const known = all.map((s) => SEVERITY_ALIASES[s] ?? s).filter((s) => SEVERITY_ORDER.includes(s));
  if (!known.length) return all[0] ?? 'minor';
  return known.sort((a, b) => SEVERITY_ORDER.indexOf(a) - SEVERITY_ORDER.indexOf(b))[0]!;
}

const NAMESPACE_LABELS = ['namespace', 'exported_namespace', 'dest_namespace'];
const APP_LABELS = ['app', 'application', 'name', 'argocd_app', 'app_kubernetes_io_instance'];

/** Clubs named explicitly, by a `club` label, or owning a namespace or app the alerts name. */
export function affected(clubIds: string[], labelSets: Labels[], config: ClubsConfig): { clubs: Club[]; apps: string[]; namespaces: string[] } {
  const namespaces = new Set(labelSets.flatMap((l) => NAMESPACE_LABELS.map((k) => l[k]).filter((v): v is string => !!v)));
  const appNames = new Set(labelSets.flatMap((l) => APP_LABELS.map((k) => l[k]).filter((v): v is string => !!v)));
  const named = new Set([...clubIds, ...labelSets.map((l) => l.club).filter((v): v is string => !!v)]);
  const clubs = config.clubs.filter(
    (c) => named.has(c.id) || c.namespaces.some((n) => namespaces.has(n)) || c.apps.some((a) => appNames.has(a)),
  );
  const apps = new Set([...clubs.flatMap((c) => c.apps), ...config.clubs.flatMap((c) => c.apps).filter((a) => appNames.has(a))]);
  for (const c of clubs) for (const n of c.namespaces) namespaces.add(n);
  return { clubs, apps: [...apps].sort(), namespaces: [...namespaces].sort() };
}

export default defineActivity({
  name: 'incidents.classify',
  description:
    'Classifies an incident: availability or security (explicit kind, a category/type label, or security alert-name ' +
    'patterns), severity (critical, major, minor, info), affected clubs, ArgoCD apps and namespaces (labels and the club ' +
    'registry CEDILLE_CLUBS_CONFIG), and the notify.send targets told at open: admins always, the clubs for an ' +
    'availability incident, ÉTS IT for a security one.',
  input: z.object({
    title: z.string(),
    severity: z.string().optional(),
    kind: Kind.nullish(),
    clubs: z.array(z.string()).default([]),
    owner: z.string().nullish().describe('Owner of the report; default: the registry default'),
    commonLabels: z.record(z.string(), z.string()).default({}),
    commonAnnotations: z.record(z.string(), z.string()).default({}),
    alerts: z.array(Alert).default([]),
  }),
  output: z.object({
    kind: Kind,
    severity: z.string(),
    clubs: z.array(z.object({ id: z.string(), name: z.string() })),
    apps: z.array(z.string()),
    namespaces: z.array(z.string()),
    startedAt: z.string().optional().describe('Earliest alert start'),
    owner: z.string(),
    notify: z.object({
      admins: z.array(z.string()),
      clubs: z.array(z.string()).describe('club:<id> targets (empty for a security incident)'),
      etsIt: z.array(z.string()).describe('ÉTS IT targets (empty for an availability incident)'),
    }),
    audience: z.array(z.string()).describe('Who receives the published report: the clubs, or ÉTS IT'),
    updateSlots: z.array(z.int()).describe('Bounded list the definition loops over for status updates while open'),
  }),
  async handler(input) {
    const config = loadClubs();
    const labelSets = [input.commonLabels, ...input.alerts.map((a) => a.labels)];
    const kind = kindOf({ kind: input.kind, labelSets: [...labelSets, input.commonAnnotations, ...input.alerts.map((a) => a.annotations)] }, config);
    const { clubs, apps, namespaces } = affected(input.clubs, labelSets, config);
    const starts = input.alerts.map((a) => a.startsAt).filter((s) => !Number.isNaN(Date.parse(s))).sort();
    const clubTargets = kind === 'availability' ? clubs.map((c) => clubTarget(c.id)) : [];
    const etsIt = kind === 'security' ? config.etsIt : [];
    return {
      kind,
      severity: severityOf(input.severity, labelSets),
      clubs: clubs.map((c) => ({ id: c.id, name: c.name })),
      apps,
      namespaces,
      ...(starts[0] ? { startedAt: new Date(Date.parse(starts[0])).toISOString() } : {}),
      owner: input.owner ?? config.defaults.owner,
      notify: { admins: config.admins, clubs: clubTargets, etsIt },
      audience: kind === 'availability' ? clubTargets : etsIt,
      updateSlots: Array.from({ length: config.defaults.maxUpdates }, (_, i) => i),
    };
  },
});
