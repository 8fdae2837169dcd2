// Shapes shared by the incident activities: the alerts of the intake contract (docs/INCIDENTS.md)
// and the timeline entries the report is built from.
import { z } from 'zod';

export const Alert = z.object({
  fingerprint: z.string(),
  status: z.enum(['firing', 'resolved']),
  labels: z.record(z.string(), z.string()).default({}),
  annotations: z.record(z.string(), z.string()).default({}),
  startsAt: z.string(),
  endsAt: z.string().optional(),
  generatorURL: z.string().optional(),
});
export type Alert = z.infer<typeof Alert>;

export const Kind = z.enum(['availability', 'security']);

export const TimelineEntry = z.object({
  at: z.string().describe('RFC 3339'),
  source: z.enum(['alert', 'kubernetes', 'argocd', 'workflow', 'note', 'incident']),
  text: z.string(),
  ref: z.string().optional().describe('Where it comes from: alert fingerprint, object, run id'),
});
export type TimelineEntry = z.infer<typeof TimelineEntry>;

/** The incident as the report sees it (classification plus times). */
export const IncidentFacts = z.object({
  id: z.string(),
  title: z.string(),
  kind: Kind,
  severity: z.string(),
  source: z.string(),
  clubs: z.array(z.object({ id: z.string(), name: z.string() })).default([]),
  apps: z.array(z.string()).default([]),
  namespaces: z.array(z.string()).default([]),
  startedAt: z.string(),
  resolvedAt: z.string().optional(),
});
export type IncidentFacts = z.infer<typeof IncidentFacts>;
