// Incident intake settings (CEDILLE_INCIDENTS_CONFIG, YAML or JSON): how webhooks authenticate
// (bearer tokens and/or HMAC-SHA256 signatures), which alerts open an incident, how alerts map to
// clubs, and who owns the report. Configuration, not code: a bad file fails the API at start-up
// with the offending field named.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/** A secret given inline, by environment variable or by file (trimmed); exactly one of them. */
const Secret = z.union([
  z.strictObject({ value: z.string().min(16, 'at least 16 characters') }),
  z.strictObject({ env: z.string().min(1) }),
  z.strictObject({ file: z.string().min(1) }),
]);
export type Secret = z.infer<typeof Secret>;

const SecretOrString = z.union([z.string().min(16, 'at least 16 characters'), Secret]);

const HmacRule = z.strictObject({
  secret: SecretOrString,
  /** Header carrying the hex HMAC-SHA256 (an optional `sha256=` prefix is accepted). */
  header: z.string().min(1).default('X-Signature-256'),
  /** Grafana's optional timestamp header: then `<timestamp>:<body>` is signed, and old timestamps refused. */
  timestampHeader: z.string().min(1).optional(),
  maxSkewSeconds: z.int().min(1).max(86_400).default(300),
});

const WebhookAuth = z
  .strictObject({
    bearerTokens: z.array(SecretOrString).default([]),
    hmac: z.array(HmacRule).default([]),
  })
  .refine((a) => a.bearerTokens.length + a.hmac.length > 0, 'configure at least one bearer token or HMAC secret');

const Matcher = z.strictObject({
  label: z.string().min(1),
  op: z.enum(['=', '!=', '=~', '!~']).default('='),
  value: z.string(),
});
export type Matcher = z.infer<typeof Matcher>;

const OpenRules = z.strictObject({
  /** Label holding the severity, and the values that open an incident (empty: any severity). */
  severityLabel: z.string().min(1).default('severity'),
  severities: z.array(z.string().min(1)).default(['critical']),
  namespaceLabel: z.string().min(1).default('namespace'),
  /** Namespaces (exact names, or `prefix-*`) whose alerts open incidents; empty: every namespace. */
  namespaces: z.strictObject({ include: z.array(z.string().min(1)).default([]), exclude: z.array(z.string().min(1)).default([]) }).prefault({}),
  /** Every matcher must hold (Alertmanager's matcher operators; regexes are anchored). */
  matchers: z.array(Matcher).default([]),
});

const Clubs = z.strictObject({
  /** Label naming the club on an alert; wins over the namespace mapping. */
  label: z.string().min(1).default('club'),
  /** Namespace -> club. */
  namespaces: z.record(z.string(), z.string().min(1)).default({}),
});

const Owners = z.strictObject({
  /** Subject owning the report of an incident no club owner claims (the on-call SRE lead, say). */
  default: z.string().min(1).optional(),
  /** Club -> subject of the club's owner for its incidents. */
  byClub: z.record(z.string(), z.string().min(1)).default({}),
});

// A 3,000-alert Alertmanager notification is 3-6 MB of JSON: the default body limit lets storms in
// (Alertmanager does not retry a 4xx, so a refused storm opens no incident at all). The alerts kept
// are bounded separately, because they go into the run's input (Temporal's 2 MB payload limit).
export const DEFAULT_BODY_LIMIT = 16 * 1024 * 1024;
export const MAX_BODY_LIMIT = 256 * 1024 * 1024;
export const DEFAULT_MAX_ALERTS = 500;
export const MAX_ALERTS_LIMIT = 5000;

export const IncidentsConfigFile = z.strictObject({
  webhooks: z
    .strictObject({
      /** Shared by both webhook routes unless one has its own. */
      auth: WebhookAuth.optional(),
      alertmanager: z.strictObject({ auth: WebhookAuth.optional(), enabled: z.boolean().default(true) }).prefault({}),
      grafana: z.strictObject({ auth: WebhookAuth.optional(), enabled: z.boolean().default(true) }).prefault({}),
      /** Largest webhook body accepted (413 beyond); CEDILLE_WEBHOOK_BODY_LIMIT overrides it. */
      maxBodyBytes: z.int().min(1024).max(MAX_BODY_LIMIT).default(DEFAULT_BODY_LIMIT),
      /** Alerts of one notification kept; the rest are cut and counted (CEDILLE_WEBHOOK_MAX_ALERTS overrides it). */
      maxAlerts: z.int().min(1).max(MAX_ALERTS_LIMIT).default(DEFAULT_MAX_ALERTS),
      /** Deliveries per sender address per minute (Alertmanager bursts when many groups fire at once). */
      ratePerMinute: z.int().min(1).max(100_000).default(600),
    })
    .refine((w) => w.auth || w.alertmanager.auth || !w.alertmanager.enabled, { message: 'alertmanager: no auth configured (webhooks.auth or webhooks.alertmanager.auth)', path: ['alertmanager', 'auth'] })
    .refine((w) => w.auth || w.grafana.auth || !w.grafana.enabled, { message: 'grafana: no auth configured (webhooks.auth or webhooks.grafana.auth)', path: ['grafana', 'auth'] })
    .optional(),
  open: OpenRules.prefault({}),
  clubs: Clubs.prefault({}),
  owners: Owners.prefault({}),
});
export type IncidentsConfigFile = z.infer<typeof IncidentsConfigFile>;

export interface ResolvedHmac {
  secret: string;
  header: string;
  timestampHeader?: string;
  maxSkewSeconds: number;
}
export interface ResolvedAuth {
  bearerTokens: string[];
  hmac: ResolvedHmac[];
}
export type WebhookSource = 'alertmanager' | 'grafana';

/** The loaded configuration: secrets resolved; a source without `auth` is disabled. */
export interface IncidentsConfig {
  webhooks: Partial<Record<WebhookSource, ResolvedAuth>>;
  maxBodyBytes: number;
  /** Alerts of a notification kept (the first ones); those past it are counted as truncated. */
  maxAlerts: number;
  ratePerMinute: number;
  open: IncidentsConfigFile['open'];
  clubs: IncidentsConfigFile['clubs'];
  owners: IncidentsConfigFile['owners'];
}

export class IncidentsConfigError extends Error {}

function resolveSecret(s: z.infer<typeof SecretOrString>, where: string, env: NodeJS.ProcessEnv): string {
  if (typeof s === 'string') return s;
  if ('value' in s) return s.value;
  if ('env' in s) {
    const v = env[s.env]?.trim();
    if (!v) throw new IncidentsConfigError(`${where}: environment variable ${s.env} is empty or unset`);
    return v;
  }
  try {
    const v = readFileSync(s.file, 'utf8').trim();
    if (!v) throw new Error('empty');
    return v;
  } catch (err) {
    throw new IncidentsConfigError(`${where}: cannot read secret file ${s.file}: ${(err as Error).message}`);
  }
}

function resolveAuth(a: z.infer<typeof WebhookAuth>, where: string, env: NodeJS.ProcessEnv): ResolvedAuth {
  return {
    bearerTokens: a.bearerTokens.map((t, i) => resolveSecret(t, `${where}.bearerTokens.${i}`, env)),
    hmac: a.hmac.map((h, i) => ({
      secret: resolveSecret(h.secret, `${where}.hmac.${i}.secret`, env),
      header: h.header.toLowerCase(),
      ...(h.timestampHeader ? { timestampHeader: h.timestampHeader.toLowerCase() } : {}),
      maxSkewSeconds: h.maxSkewSeconds,
    })),
  };
}

/** Parses and resolves a configuration document (already decoded from YAML/JSON). */
export function incidentsConfigFrom(doc: unknown, env: NodeJS.ProcessEnv = process.env, file = 'incidents config'): IncidentsConfig {
  const parsed = IncidentsConfigFile.safeParse(doc ?? {});
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new IncidentsConfigError(`${file}: ${issues.join('; ')}`);
  }
  const c = parsed.data;
  for (const [i, m] of c.open.matchers.entries()) {
    if (m.op === '=~' || m.op === '!~') {
      try {
        new RegExp(m.value);
      } catch (err) {
        throw new IncidentsConfigError(`${file}: open.matchers.${i}.value: ${(err as Error).message}`);
      }
    }
  }
  const webhooks: IncidentsConfig['webhooks'] = {};
  for (const source of ['alertmanager', 'grafana'] as const) {
    const own = c.webhooks?.[source];
    const auth = own?.auth ?? c.webhooks?.auth;
    if (own?.enabled !== false && auth) webhooks[source] = resolveAuth(auth, `${file}: webhooks.${own?.auth ? `${source}.auth` : 'auth'}`, env);
  }
  return {
    webhooks,
    maxBodyBytes: envInt(env, 'CEDILLE_WEBHOOK_BODY_LIMIT', 1024, MAX_BODY_LIMIT) ?? c.webhooks?.maxBodyBytes ?? DEFAULT_BODY_LIMIT,
    maxAlerts: envInt(env, 'CEDILLE_WEBHOOK_MAX_ALERTS', 1, MAX_ALERTS_LIMIT) ?? c.webhooks?.maxAlerts ?? DEFAULT_MAX_ALERTS,
    ratePerMinute: c.webhooks?.ratePerMinute ?? 600,
    open: c.open,
    clubs: c.clubs,
    owners: c.owners,
  };
}

/** An integer environment variable within [min, max]; undefined when unset or empty. */
function envInt(env: NodeJS.ProcessEnv, name: string, min: number, max: number): number | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new IncidentsConfigError(`${name}=${raw}: expected an integer from ${min} to ${max}`);
  return n;
}

/** Loads CEDILLE_INCIDENTS_CONFIG; without a file, webhooks are disabled and the defaults apply. */
export function loadIncidentsConfig(path: string | undefined, env: NodeJS.ProcessEnv = process.env): IncidentsConfig {
  if (!path) return incidentsConfigFrom({}, env);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new IncidentsConfigError(`CEDILLE_INCIDENTS_CONFIG=${path}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = /\.json$/i.test(path) ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new IncidentsConfigError(`${path}: not valid ${/\.json$/i.test(path) ? 'JSON' : 'YAML'}: ${(err as Error).message}`);
  }
  return incidentsConfigFrom(doc, env, path);
}
