// The club registry of the incident activities, from the YAML file named by CEDILLE_CLUBS_CONFIG:
// which clubs own which namespaces and ArgoCD applications, how each club is told about an
// availability incident, who the admins and ÉTS IT are (notify.send targets), and the people whose
// names must not appear in a published report (constraint C01) unless they responded.
//
// clubs:
//   - id: radio-piranha                 # notify target `club:radio-piranha` (see notify/config.ts)
//     name: Radio Piranha
//     namespaces: [radio-piranha]
//     apps: [radio-piranha-prod, radio-piranha-staging]
//     discord: https://discord.com/api/webhooks/…   # the club's channel (a credential: never in history)
//     email: radio@etsmtl.ca
//     members: [{ name: Jeanne Roy, email: jeanne.roy@etsmtl.ca }]
// admins: [sre]                         # notify.send targets (groups or directory ids)
// etsIt: [ets-it]
// people: [{ name: Marc Gagnon, email: marc@example.org }]   # other names to strip
// security:                             # how an alert is recognised as a security incident
//   labels: [category, type]            # label/annotation whose value says availability|security
//   alertnames: ['^Falco', 'Intrusion', 'CertificateLeak']
// defaults: { owner: sre, maxUpdates: 50 }
import { readFileSync, statSync } from 'node:fs';
import { ApplicationFailure } from '@temporalio/common';
import { parse } from 'yaml';
import { z } from 'zod';

const HttpUrl = z.url({ protocol: /^https?$/ });
const Person = z.strictObject({ name: z.string().min(1), email: z.email().optional() });

export const Club = z.strictObject({
  id: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'a DNS-1123 label'),
  name: z.string().min(1),
  namespaces: z.array(z.string().min(1)).default([]),
  apps: z.array(z.string().min(1)).default([]),
  discord: HttpUrl.optional(),
  email: z.email().optional(),
  members: z.array(Person).default([]),
});
export type Club = z.infer<typeof Club>;

export const ClubsConfig = z.strictObject({
  clubs: z.array(Club).default([]),
  admins: z.array(z.string().min(1)).default(['sre']),
  etsIt: z.array(z.string().min(1)).default(['ets-it']),
  people: z.array(Person).default([]),
  security: z
    .strictObject({
      labels: z.array(z.string().min(1)).default(['category', 'type', 'incident_kind']),
      alertnames: z.array(z.string().min(1)).default(['^Falco', 'Intrusion', 'Security', 'Vulnerab', 'Breach', 'LeakedSecret']),
    })
    .default({ labels: ['category', 'type', 'incident_kind'], alertnames: ['^Falco', 'Intrusion', 'Security', 'Vulnerab', 'Breach', 'LeakedSecret'] }),
  defaults: z
    // maxUpdates ≤ 200 keeps the incident's update loop inline in its run (where its events arrive),
    // below the interpreter's inline fan-out budget (2,000 events at ~9 per update).
    .strictObject({ owner: z.string().min(1).default('sre'), maxUpdates: z.int().min(0).max(200).default(50) })
    .default({ owner: 'sre', maxUpdates: 50 }),
});
export type ClubsConfig = z.infer<typeof ClubsConfig>;

/** The notify.send group of a club's own channel. */
export const clubTarget = (id: string) => `club:${id}`;

let cache: { key: string; config: ClubsConfig } | undefined;

/** Reads CEDILLE_CLUBS_CONFIG (re-read when the file changes); an empty registry when unset. */
export function loadClubs(env: NodeJS.ProcessEnv = process.env): ClubsConfig {
  const file = env.CEDILLE_CLUBS_CONFIG;
  if (!file) return ClubsConfig.parse({});
  let key: string;
  try {
    const st = statSync(file);
    key = `${file}|${st.mtimeMs}|${st.size}`;
  } catch (err) {
    throw ApplicationFailure.nonRetryable(`CEDILLE_CLUBS_CONFIG ${file}: ${(err as Error).message}`, 'ClubsConfigInvalid');
  }
  if (cache?.key === key) return cache.config;
  let raw: unknown;
  try {
    raw = parse(readFileSync(file, 'utf8')) ?? {};
  } catch (err) {
    throw ApplicationFailure.nonRetryable(`CEDILLE_CLUBS_CONFIG ${file}: not YAML: ${(err as Error).message}`, 'ClubsConfigInvalid');
  }
  const parsed = ClubsConfig.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw ApplicationFailure.nonRetryable(`CEDILLE_CLUBS_CONFIG ${file}: ${problems}`, 'ClubsConfigInvalid');
  }
  cache = { key, config: parsed.data };
  return parsed.data;
}
