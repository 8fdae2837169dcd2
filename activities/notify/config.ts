// Notification settings of the worker (and the approver directory the approval page reads), from
// the JSON file named by CEDILLE_NOTIFY_CONFIG. Without it, notify.send only logs (dev default).
//
// {
//   "directory": [{ "id": "edith", "subject": "<OIDC sub>", "name": "Édith Tremblay", "email": "edith@etsmtl.ca",
//                   "discord": { "userId": "1234", "webhook": "https://discord.com/api/webhooks/…" },
//                   "groups": ["ets-it"] }],
//   "discord": { "groups": { "sre": "https://discord.com/api/webhooks/…" }, "default": "https://…" },
//   "smtp": { "host": "smtp.example.org", "port": 587, "secure": false, "from": "Cédille <noreply@…>",
//             "auth": { "user": "…", "passFile": "/run/secrets/smtp" } },
//   "publicUrl": "https://workflows.cedille.club", "linkSecretFile": "/run/secrets/link-secret",
//   "timeZone": "America/Toronto"
// }
//
// The link secret and the public URL are those of the API: CEDILLE_LINK_SECRET and API_PUBLIC_URL
// win over the file; without either, `<data dir>/link-secret` (written by the API of the embedded
// default) is used. Secrets may be given inline (`pass`, `linkSecret`) or by file (`passFile`,
// `linkSecretFile`); they never appear in activity outputs or logs. Webhook URLs and `smtp.auth.pass`
// may also be Vault references, `vault:<path>#<field>` (../_secrets.ts), read when sending.
import { readFileSync, statSync } from 'node:fs';
import { z } from 'zod';
import { SecretRefString } from '../_secrets.ts';
import { clubTarget, loadClubs } from '../incidents/_clubs.ts';
import { MIN_SECRET_BYTES, strongSecret } from '../../api/links/secret.ts';
import { signingKeyFromEnv } from '../../trust/signing-key.ts';

const HttpUrl = z.url({ protocol: /^https?$/ });
/** A webhook URL holds the webhook's token: inline, or by Vault reference. */
const Webhook = z.union([HttpUrl, SecretRefString]);

const SUBJECT_REQUIRED = 'required: the identity provider subject this person answers as';

export const DirectoryEntry = z.strictObject({
  /** Id of the entry: what definitions and notices address (`to: [edith]`). */
  id: z.string().min(1),
  /**
   * The person's subject at the identity provider (OIDC `sub`, or a static token's subject): who
   * their links answer as, so one person is one approver however they answer. Required.
   */
  subject: z
    .string({ error: (issue) => (issue.input === undefined ? SUBJECT_REQUIRED : undefined) })
    .min(1, SUBJECT_REQUIRED),
  name: z.string().min(1),
  email: z.email().optional(),
  discord: z
    .strictObject({
      /** Discord user id (snowflake), mentioned in group messages. */
      userId: z.string().regex(/^\d{5,25}$/).optional(),
      /** Webhook of a private channel of this person: receives their personal approval links. */
      webhook: Webhook.optional(),
    })
    .optional(),
  groups: z.array(z.string().min(1)).default([]),
});
export type DirectoryEntry = z.infer<typeof DirectoryEntry>;

export const NotifyConfig = z.strictObject({
  directory: z.array(DirectoryEntry).default([]),
  discord: z
    .strictObject({
      /** Webhook per group (shared channels: announcements, never personal links). */
      groups: z.record(z.string(), Webhook).default({}),
      /** Webhook for groups without their own. */
      default: Webhook.optional(),
    })
    .default({ groups: {} }),
  smtp: z
    .strictObject({
      host: z.string().min(1),
      port: z.number().int().min(1).max(65535).default(587),
      /** true: TLS from the start (port 465); false: STARTTLS when offered. */
      secure: z.boolean().default(false),
      /** Refuse to send without STARTTLS (recommended off localhost). */
      requireTLS: z.boolean().default(false),
      from: z.string().min(3),
      auth: z.strictObject({ user: z.string().min(1), pass: z.string().optional(), passFile: z.string().optional() }).optional(),
      /** Per-connection timeout in ms. */
      timeoutMs: z.number().int().positive().default(15_000),
    })
    .optional(),
  publicUrl: HttpUrl.optional(),
  linkSecret: z.string().refine((v) => Buffer.byteLength(v) >= MIN_SECRET_BYTES, `must be at least ${MIN_SECRET_BYTES} bytes`).optional(),
  linkSecretFile: z.string().optional(),
  /** Time zone deadlines are written in (people read them; the API keeps UTC). */
  timeZone: z.string().default('America/Toronto'),
});
export type NotifyConfig = z.infer<typeof NotifyConfig>;

export interface LoadedNotifyConfig extends NotifyConfig {
  /** Resolved: env, file, or the embedded default's data dir; undefined = no links can be minted. */
  link: { publicUrl: string; secret: string | undefined };
  smtpPass: string | undefined;
  file: string;
}

let cache: { key: string; config: LoadedNotifyConfig } | undefined;

function readSecret(file: string): string {
  return readFileSync(file, 'utf8').trim();
}

/**
 * The link secret: CEDILLE_LINK_SECRET, then this file's, then CEDILLE_LINK_SECRET_FILE or the data
 * dir's (trust/signing-key.ts); at least 32 bytes, whichever.
 */
function linkSecret(env: NodeJS.ProcessEnv, c: NotifyConfig, file: string): string | undefined {
  if (env.CEDILLE_LINK_SECRET) return strongSecret(env.CEDILLE_LINK_SECRET, 'CEDILLE_LINK_SECRET');
  if (c.linkSecret) return c.linkSecret;
  if (c.linkSecretFile) return strongSecret(readSecret(c.linkSecretFile), `CEDILLE_NOTIFY_CONFIG ${file}: linkSecretFile ${c.linkSecretFile}`);
  return signingKeyFromEnv(env);
}

/** The approver directory entry of the person whose identity-provider subject is `subject`, if any. */
export function person(config: NotifyConfig, subject: string): DirectoryEntry | undefined {
  return config.directory.find((p) => p.subject === subject);
}

/**
 * The clubs of the club registry (CEDILLE_CLUBS_CONFIG, activities/incidents/_clubs.ts) as groups
 * `club:<id>`: their Discord channel as the group's webhook, their e-mail as a directory entry of
 * the group. What this file sets for the same group or id wins.
 */
function withClubChannels(c: NotifyConfig, env: NodeJS.ProcessEnv): NotifyConfig {
  const clubs = env.CEDILLE_CLUBS_CONFIG ? loadClubs(env).clubs : [];
  if (!clubs.length) return c;
  const groups = { ...c.discord.groups };
  const directory = [...c.directory];
  for (const club of clubs) {
    const target = clubTarget(club.id);
    if (club.discord && !groups[target]) groups[target] = club.discord;
    if (club.email && !directory.some((p) => p.id === target)) directory.push({ id: target, subject: target, name: club.name, email: club.email, groups: [target] });
  }
  return { ...c, directory, discord: { ...c.discord, groups } };
}

/** `directory.1.subject` as `directory.1 (ada).subject`: people know an entry by its id, not its position. */
function issuePath(path: PropertyKey[], raw: unknown): string {
  const [top, index, ...rest] = path;
  const entry = top === 'directory' && typeof index === 'number' ? (raw as { directory?: unknown[] }).directory?.[index] : undefined;
  const id = entry && typeof entry === 'object' ? (entry as { id?: unknown }).id : undefined;
  if (typeof id !== 'string' || !id) return path.map(String).join('.') || '(root)';
  return [`directory.${String(index)} (${id})`, ...rest.map(String)].join('.');
}

/**
 * Reads CEDILLE_NOTIFY_CONFIG (re-read when the file changes); undefined when unset. Throws with
 * the offending fields when the file is invalid.
 */
export function loadNotifyConfig(env: NodeJS.ProcessEnv = process.env): LoadedNotifyConfig | undefined {
  const file = env.CEDILLE_NOTIFY_CONFIG;
  if (!file) return undefined;
  const st = statSync(file);
  const clubsFile = env.CEDILLE_CLUBS_CONFIG ? statSync(env.CEDILLE_CLUBS_CONFIG) : undefined;
  const key = [file, st.mtimeMs, st.size, env.CEDILLE_CLUBS_CONFIG ?? '', clubsFile?.mtimeMs ?? '', env.CEDILLE_LINK_SECRET ?? '', env.API_PUBLIC_URL ?? '', env.API_HOST ?? '', env.API_PORT ?? ''].join('|');
  if (cache?.key === key) return cache.config;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`CEDILLE_NOTIFY_CONFIG ${file}: not JSON: ${(err as Error).message}`, { cause: err });
  }
  const parsed = NotifyConfig.safeParse(raw);
  if (!parsed.success) {
    throw new Error(`CEDILLE_NOTIFY_CONFIG ${file}: ${parsed.error.issues.map((i) => `${issuePath(i.path, raw)}: ${i.message}`).join('; ')}`);
  }
  const c = withClubChannels(parsed.data, env);
  const ids = new Set<string>();
  const subjects = new Set<string>();
  for (const p of c.directory) {
    if (ids.has(p.id)) throw new Error(`CEDILLE_NOTIFY_CONFIG ${file}: directory: duplicate id ${p.id}`);
    // Two entries of one subject would let one person hold two sets of links.
    if (subjects.has(p.subject)) throw new Error(`CEDILLE_NOTIFY_CONFIG ${file}: directory: entry ${p.id}: subject ${p.subject} belongs to another entry`);
    ids.add(p.id);
    subjects.add(p.subject);
  }
  const secret = linkSecret(env, c, file);
  const publicUrl = (env.API_PUBLIC_URL || c.publicUrl || `http://${env.API_HOST || '127.0.0.1'}:${env.API_PORT || 3000}`).replace(/\/+$/, '');
  const smtpPass = c.smtp?.auth?.pass ?? (c.smtp?.auth?.passFile ? readSecret(c.smtp.auth.passFile) : undefined);
  const config: LoadedNotifyConfig = { ...c, link: { publicUrl, secret }, smtpPass, file };
  cache = { key, config };
  return config;
}
