// Webhook payloads: Alertmanager's webhook_config body (version "4") and Grafana's unified alerting
// variant of it (the same fields plus orgId, state, title, message, and per alert values, valueString,
// dashboard/panel/silence URLs). Only what intake uses is checked strictly; unknown extra fields are
// tolerated (both senders add fields over time). Parsing errors name the field (`body.alerts.0.status`).
import { z } from 'zod';
import type { WebhookSource } from './config.ts';

const Text = (max: number) => z.string().max(max);
const Labels = z.record(Text(256), Text(4096)).refine((r) => Object.keys(r).length <= 200, 'at most 200 entries');
const Time = z.iso.datetime({ offset: true, message: 'an RFC 3339 date-time' });

const AlertBase = z.looseObject({
  status: z.enum(['firing', 'resolved']),
  labels: Labels,
  annotations: Labels.default({}),
  startsAt: Time,
  endsAt: Time.optional(),
  generatorURL: Text(4096).optional(),
  fingerprint: z.string().min(1).max(128).regex(/^[A-Za-z0-9_.:-]+$/, 'letters, digits and _.:- only'),
});

const GroupBase = {
  receiver: Text(512).default(''),
  status: z.enum(['firing', 'resolved']),
  groupKey: z.string().min(1).max(4096),
  truncatedAlerts: z.int().min(0).default(0),
  groupLabels: Labels.default({}),
  commonLabels: Labels.default({}),
  commonAnnotations: Labels.default({}),
  externalURL: Text(4096).default(''),
};

export const AlertmanagerPayload = z.looseObject({
  version: z.literal('4', { message: 'expected "4" (Alertmanager webhook payload version 4)' }),
  ...GroupBase,
  alerts: z.array(AlertBase).min(1),
});
export type AlertmanagerPayload = z.infer<typeof AlertmanagerPayload>;

export const GrafanaPayload = z.looseObject({
  version: Text(16).optional(),
  ...GroupBase,
  orgId: z.int().optional(),
  state: Text(64).optional(),
  title: Text(2048).optional(),
  message: Text(65_536).optional(),
  alerts: z
    .array(
      AlertBase.extend({
        values: z.record(z.string(), z.unknown()).nullish(),
        valueString: Text(65_536).optional(),
        silenceURL: Text(4096).optional(),
        dashboardURL: Text(4096).optional(),
        panelURL: Text(4096).optional(),
        imageURL: Text(4096).optional(),
      }),
    )
    .min(1),
});
export type GrafanaPayload = z.infer<typeof GrafanaPayload>;

export type WebhookPayload = AlertmanagerPayload | GrafanaPayload;

export interface FieldProblem {
  field: string;
  message: string;
}

/**
 * Decodes and checks a webhook body; problems name each offending field. Past `maxAlerts`, alerts are
 * cut before they are checked (a storm is still an incident: its first alerts say what it is) and
 * counted into `truncatedAlerts`, the field Alertmanager itself uses for the alerts it left out.
 */
export function parseWebhook(source: WebhookSource, raw: Buffer, maxAlerts = Infinity): { payload: WebhookPayload; cut: number } | { errors: FieldProblem[] } {
  let doc: unknown;
  try {
    doc = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    return { errors: [{ field: 'body', message: `not JSON: ${(err as Error).message}` }] };
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return { errors: [{ field: 'body', message: 'expected a JSON object' }] };
  const all = (doc as { alerts?: unknown }).alerts;
  const cut = Array.isArray(all) && all.length > maxAlerts ? all.length - maxAlerts : 0;
  if (cut) doc = { ...doc, alerts: (all as unknown[]).slice(0, maxAlerts) };
  const schema = source === 'alertmanager' ? AlertmanagerPayload : GrafanaPayload;
  const parsed = schema.safeParse(doc);
  if (parsed.success) return { payload: cut ? { ...parsed.data, truncatedAlerts: parsed.data.truncatedAlerts + cut } : parsed.data, cut };
  return {
    errors: parsed.error.issues.slice(0, 20).map((i) => ({ field: ['body', ...i.path.map(String)].join('.'), message: i.message })),
  };
}
