// The app onboarding request and its validation. The zod schema only fixes the shape (so a workflow
// definition is type-checked); formats are checked here, all at once, each problem naming its field,
// so a club gets one complete answer instead of one error per attempt.
import { z } from 'zod';
import { ENVIRONMENTS, type Environment, type GitOpsConfig } from './_config.ts';

const PerEnv = <T extends z.ZodType>(t: T) => z.strictObject({ staging: t.optional(), prod: t.optional() });
const CpuMem = z.strictObject({ cpu: z.string().optional(), memory: z.string().optional() });
export const ResourcesSpec = z.strictObject({ requests: CpuMem.optional(), limits: CpuMem.optional() });
export type ResourcesSpec = z.output<typeof ResourcesSpec>;

export const Contact = z.strictObject({
  name: z.string(),
  email: z.string().optional(),
  github: z.string().optional(),
  discord: z.string().optional(),
});

export const AppRequest = z.strictObject({
  club: z.string().describe('the club owning the app (DNS-1123 label)'),
  app: z.string().describe('app name: DNS-1123 label, at most 50 characters; the folder apps/<app>'),
  image: z.string().describe('container image reference, with a tag (not latest) or a digest'),
  port: z.number().int().describe('container port'),
  environments: z.array(z.string()).default([...ENVIRONMENTS]).describe('staging and/or prod'),
  hostnames: PerEnv(z.array(z.string())).default({}).describe('hostnames per environment, under the allowed domains'),
  replicas: PerEnv(z.number().int()).default({}),
  resources: PerEnv(ResourcesSpec).default({}),
  contacts: z.array(Contact).default([]).describe('who to reach about the app (at least one)'),
});
export type AppRequest = z.output<typeof AppRequest>;

export interface Problem {
  field: string;
  message: string;
}

export const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const MAX_APP_NAME = 50;
const RESERVED_APPS = new Set(['argo-apps', 'base', 'staging', 'prod', 'system']);

// The distribution/reference grammar (docker/distribution reference/regexp.go).
const ALNUM = '[a-z0-9]+';
const SEPARATOR = '(?:[._]|__|[-]+)';
const PATH_COMPONENT = `${ALNUM}(?:${SEPARATOR}${ALNUM})*`;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const IMAGE_RE = new RegExp(`^((?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::(${TAG}))?(?:@(${DIGEST}))?$`);

/** Parses an image reference; undefined when it does not follow the grammar. */
export function parseImage(ref: string): { name: string; tag?: string; digest?: string } | undefined {
  const m = IMAGE_RE.exec(ref);
  if (!m || m[1]!.length > 255) return undefined;
  return { name: m[1]!, ...(m[2] ? { tag: m[2] } : {}), ...(m[3] ? { digest: m[3] } : {}) };
}

const QUANTITY = /^([0-9]+(?:\.[0-9]+)?|\.[0-9]+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;
const FACTOR: Record<string, number> = {
  '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** A Kubernetes resource quantity as a number (cores, bytes); undefined when malformed. */
export function parseQuantity(q: string): number | undefined {
  const m = QUANTITY.exec(q.trim());
  return m ? Number(m[1]) * FACTOR[m[2] ?? '']! : undefined;
}

/** `host` is a valid lowercase DNS name (RFC 1123), no wildcard. */
export function isHostname(host: string): boolean {
  return host.length <= 253 && host.split('.').length >= 2 && host.split('.').every((l) => l.length <= 63 && DNS1123_LABEL.test(l));
}

function under(host: string, domain: string): boolean {
  return host.endsWith(`.${domain.toLowerCase().replace(/^\.+|\.+$/g, '')}`);
}

/** The environments of a request in rollout order (staging first). */
export function environmentsOf(req: AppRequest): Environment[] {
  return ENVIRONMENTS.filter((e) => req.environments.includes(e));
}

/** Format problems of a request (not the repository checks: see validateApp). */
export function requestProblems(req: AppRequest, config: GitOpsConfig, allowedDomains = config.allowedDomains): Problem[] {
  const problems: Problem[] = [];
  const add = (field: string, message: string) => problems.push({ field, message });

  if (!DNS1123_LABEL.test(req.club) || req.club.length > 63) add('club', `"${req.club}" is not a DNS-1123 label (lowercase letters, digits and "-", at most 63)`);
  if (!DNS1123_LABEL.test(req.app)) add('app', `"${req.app}" is not a DNS-1123 label (lowercase letters, digits and "-", starting and ending with a letter or digit)`);
  else if (req.app.length > MAX_APP_NAME) add('app', `"${req.app}" is longer than ${MAX_APP_NAME} characters (the namespace <app>-staging must fit 63)`);
  else if (RESERVED_APPS.has(req.app)) add('app', `"${req.app}" is reserved`);

  const image = parseImage(req.image);
  if (!image) add('image', `"${req.image}" is not a valid image reference (registry/name:tag or name@sha256:...)`);
  else if (!image.tag && !image.digest) add('image', `"${req.image}" has no tag: pin a version (name:1.2.3) or a digest`);
  else if (image.tag === 'latest' && !image.digest) add('image', `"${req.image}": the tag latest is not accepted, pin a version or a digest`);

  if (!Number.isInteger(req.port) || req.port < 1 || req.port > 65535) add('port', `${req.port} is not a port (1-65535)`);

  const envs = req.environments;
  if (!envs.length) add('environments', 'at least one environment (staging, prod)');
  envs.forEach((e, i) => {
    if (!(ENVIRONMENTS as readonly string[]).includes(e)) add(`environments[${i}]`, `unknown environment "${e}" (staging, prod)`);
    else if (envs.indexOf(e) !== i) add(`environments[${i}]`, `"${e}" is listed twice`);
  });

  const seen = new Map<string, string>();
  for (const env of ENVIRONMENTS) {
    const hosts = req.hostnames[env];
    const active = envs.includes(env);
    if (!active) {
      if (hosts?.length) add(`hostnames.${env}`, `hostnames given for ${env}, which is not in environments`);
      continue;
    }
    if (!hosts?.length) add(`hostnames.${env}`, `at least one hostname for ${env}`);
    (hosts ?? []).forEach((host, i) => {
      const field = `hostnames.${env}[${i}]`;
      if (!isHostname(host)) add(field, `"${host}" is not a valid lowercase DNS name (no wildcard)`);
      else if (!allowedDomains.some((d) => under(host, d))) add(field, `"${host}" is not under an allowed domain (${allowedDomains.join(', ')})`);
      else if (seen.has(host)) add(field, `"${host}" is already used by ${seen.get(host)}`);
      else seen.set(host, field);
    });
  }

  const maxCpu = parseQuantity(config.limits.maxCpu) ?? Infinity;
  const maxMemory = parseQuantity(config.limits.maxMemory) ?? Infinity;
  for (const env of ENVIRONMENTS) {
    const replicas = req.replicas[env];
    if (replicas !== undefined && (replicas < 0 || replicas > config.limits.maxReplicas)) {
      add(`replicas.${env}`, `${replicas} replicas: between 0 and ${config.limits.maxReplicas}`);
    }
    const res = req.resources[env];
    if (!res) continue;
    const values: Partial<Record<'requests' | 'limits', Partial<Record<'cpu' | 'memory', number>>>> = {};
    for (const kind of ['requests', 'limits'] as const) {
      for (const name of ['cpu', 'memory'] as const) {
        const q = res[kind]?.[name];
        if (q === undefined) continue;
        const field = `resources.${env}.${kind}.${name}`;
        const v = parseQuantity(q);
        if (v === undefined) add(field, `"${q}" is not a Kubernetes quantity (e.g. ${name === 'cpu' ? '250m, 1' : '256Mi, 1Gi'})`);
        else if (v <= 0) add(field, `"${q}" must be positive`);
        else if (v > (name === 'cpu' ? maxCpu : maxMemory)) add(field, `"${q}" is above the platform maximum ${name === 'cpu' ? config.limits.maxCpu : config.limits.maxMemory}`);
        else (values[kind] ??= {})[name] = v;
      }
    }
    for (const name of ['cpu', 'memory'] as const) {
      const r = values.requests?.[name];
      const l = values.limits?.[name];
      if (r !== undefined && l !== undefined && r > l) add(`resources.${env}.requests.${name}`, `request ${res.requests?.[name]} is above the limit ${res.limits?.[name]}`);
    }
  }

  if (!req.contacts.length) add('contacts', 'at least one contact');
  req.contacts.forEach((c, i) => {
    if (!c.name.trim()) add(`contacts[${i}].name`, 'a name');
    if (c.email !== undefined && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(c.email)) add(`contacts[${i}].email`, `"${c.email}" is not an email address`);
    if (c.github !== undefined && !/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/.test(c.github)) add(`contacts[${i}].github`, `"${c.github}" is not a GitHub login`);
  });
  return problems;
}

/** "field: message; field: message" */
export function describeProblems(problems: Problem[]): string {
  return problems.map((p) => `${p.field}: ${p.message}`).join('; ');
}
