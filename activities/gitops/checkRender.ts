// gitops.checkRender: the rendered tree written to a temp dir, `kubectl kustomize` on each environment
// folder (and on the app folder, which renders argo.yaml), then every rendered object sent to the API
// server as a server-side apply with dryRun=All and strict field validation: schema, defaulting,
// validation and admission run, nothing is stored. Errors name the file, the object and the field.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { defineActivity } from '../define.ts';
import { checkPath } from '../git/_repo.ts';
import { kube, type KObject } from '../kubernetes/_client.ts';
import { httpStatusOf, kubeFailure, networkCode, statusOf } from '../kubernetes/_errors.ts';
import { ENVIRONMENTS } from './_config.ts';
import { runKubectl } from './_kubectl.ts';

const Problem = z.object({ file: z.string().optional(), object: z.string().optional(), field: z.string().optional(), message: z.string() });
const Target = z.object({
  environment: z.string().describe('staging, prod, or argocd for the app folder (argo.yaml)'),
  path: z.string(),
  ok: z.boolean(),
  namespace: z.string().describe('namespace the namespaced objects were dry-run in'),
  objects: z.array(z.object({ kind: z.string(), name: z.string(), file: z.string().optional() })),
  errors: z.array(Problem),
});
type Target = z.infer<typeof Target>;
type Problem = z.infer<typeof Problem>;

interface Source {
  kind: string;
  name: string;
  file: string;
}

/** The objects each file of the tree declares (to say which file an object of the output came from). */
function sourcesOf(files: Record<string, string>): Source[] {
  const out: Source[] = [];
  for (const [file, text] of Object.entries(files)) {
    if (/(^|\/)kustomization\.ya?ml$/.test(file) || /(^|\/)patch(es)?\.ya?ml$/.test(file)) continue;
    for (const doc of parseAllDocuments(text)) {
      const obj = doc.toJS() as { kind?: string; metadata?: { name?: string } } | null;
      if (obj?.kind && obj.metadata?.name) out.push({ kind: obj.kind, name: obj.metadata.name, file });
    }
  }
  return out;
}

/** Rollout order: staging, prod, then any other folder. */
function rank(env: string): number {
  const i = (ENVIRONMENTS as readonly string[]).indexOf(env);
  return i < 0 ? ENVIRONMENTS.length : i;
}

/** The app folder(s) of the tree: apps/<app> holding a kustomization.yaml. */
function appFolders(files: Record<string, string>): string[] {
  return [...new Set(Object.keys(files).map((p) => /^(apps\/[^/]+)\/kustomization\.yaml$/.exec(p)?.[1]).filter((p): p is string => Boolean(p)))];
}

function fieldProblems(err: unknown, object: string, file: string | undefined): Problem[] {
  const st = statusOf(err);
  const causes = st?.details?.causes ?? [];
  if (causes.length) return causes.map((c) => ({ ...(file ? { file } : {}), object, ...(c.field ? { field: c.field } : {}), message: c.message ?? st?.message ?? String(err) }));
  const message = st?.message ?? (err as Error).message;
  // strict field validation: `strict decoding error: unknown field "spec.x"`
  // or, from server-side apply, `failed to create typed patch object (...): .spec.x: field not declared in schema`
  const unknown = /unknown field "([^"]+)"/.exec(message) ?? /: \.([\w.[\]-]+): field not declared in schema/.exec(message);
  return [{ ...(file ? { file } : {}), object, ...(unknown ? { field: unknown[1] } : {}), message }];
}

export default defineActivity({
  name: 'gitops.checkRender',
  description:
    'Checks a rendered app tree (the files of gitops.renderApp): kubectl kustomize renders each environment folder and ' +
    'the app folder (argo.yaml), and the API server accepts every rendered object (server-side apply, dryRun=All, strict ' +
    'field validation; nothing is stored). Reports per environment the objects and the errors (file, object, field). ' +
    'With failOnError (default) any error fails the step with RenderCheckFailed (non-retryable); an unreachable API ' +
    'server is retried.',
  input: z.strictObject({
    files: z.record(z.string(), z.string()).describe('path -> content, e.g. steps.render.output.files'),
    environments: z.array(z.string()).optional().describe('environment folders to check (default: every folder with a kustomization next to base/)'),
    namespace: z.string().optional().describe('namespace for the dry run of namespaced objects (default: the destination namespace <app>-<env> when it exists, else default)'),
    failOnError: z.boolean().default(true),
  }),
  output: z.object({ ok: z.boolean(), environments: z.array(Target) }),
  async handler({ files, environments, namespace, failOnError }, ctx) {
    for (const p of Object.keys(files)) checkPath(p);
    const dir = await mkdtemp(join(tmpdir(), 'cedille-check-render-'));
    try {
      for (const [p, text] of Object.entries(files)) {
        await mkdir(dirname(join(dir, p)), { recursive: true });
        await writeFile(join(dir, p), text);
      }
      const sources = sourcesOf(files);
      const targets: { environment: string; path: string; defaultNamespace?: string }[] = [];
      for (const app of appFolders(files)) {
        const name = app.slice('apps/'.length);
        const envs = environments ?? [...new Set(Object.keys(files).map((p) => new RegExp(`^${app}/([^/]+)/kustomization\\.yaml$`).exec(p)?.[1]))].filter((e): e is string => Boolean(e) && e !== 'base')
          .sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : 1));
        for (const env of envs) targets.push({ environment: env, path: `${app}/${env}`, defaultNamespace: `${name}-${env}` });
        targets.push({ environment: 'argocd', path: app });
      }
      if (!targets.length) {
        throw ApplicationFailure.create({ message: 'gitops.checkRender: no apps/<app>/kustomization.yaml in the files', type: 'RenderCheckFailed', nonRetryable: true });
      }
      const client = kube();
      const namespaceExists = async (ns: string) => {
        try {
          await client.get({ apiVersion: 'v1', kind: 'Namespace', name: ns }, ctx.signal);
          return true;
        } catch (e) {
          if (httpStatusOf(e) === 404) return false;
          throw kubeFailure(e, `get v1 Namespace ${ns}`);
        }
      };

      const report: Target[] = [];
      for (const t of targets) {
        ctx.heartbeat({ checking: t.path });
        const errors: Problem[] = [];
        const objects: Target['objects'] = [];
        const ns = namespace ?? (t.defaultNamespace && (await namespaceExists(t.defaultNamespace)) ? t.defaultNamespace : 'default');
        const rendered = await runKubectl(['kustomize', join(dir, t.path)], { signal: ctx.signal });
        if (rendered.code !== 0) {
          const message = rendered.stderr.trim().split(dir + '/').join('').replace(/^error: /i, '');
          const file = /(apps\/[^\s:'"]+\.ya?ml)/.exec(message)?.[1];
          errors.push({ ...(file ? { file } : {}), message: `kubectl kustomize ${t.path}: ${message}` });
        } else {
          for (const doc of parseAllDocuments(rendered.stdout)) {
            const obj = doc.toJS() as KObject | null;
            if (!obj) continue;
            const source = sources.find((s) => s.kind === obj.kind && s.name === obj.metadata?.name && s.file.startsWith(`${t.path.split('/').slice(0, 2).join('/')}/`));
            const what = `${obj.kind} ${obj.metadata?.name ?? '?'}`;
            objects.push({ kind: obj.kind, name: obj.metadata?.name ?? '', ...(source ? { file: source.file } : {}) });
            try {
              const target = { ...obj, metadata: { ...obj.metadata } } as KObject;
              const existing = target.metadata.namespace;
              if (existing === undefined || !(await namespaceExists(existing))) target.metadata.namespace = ns;
              await client.apply(target, { dryRun: true, signal: ctx.signal });
            } catch (e) {
              if (ctx.signal.aborted) throw e;
              const code = httpStatusOf(e);
              // The API server down or overloaded is not a problem of the tree: retry the activity.
              if (code === undefined ? networkCode(e) !== undefined : code === 429 || (code >= 500 && !/typed patch object/.test(statusOf(e)?.message ?? ''))) {
                throw kubeFailure(e, `dry run ${what}`);
              }
              if (code === undefined && /Unrecognized API version and kind/.test((e as Error).message)) {
                errors.push({ ...(source ? { file: source.file } : {}), object: what, message: `${obj.apiVersion} ${obj.kind} is not served by the API server` });
                continue;
              }
              errors.push(...fieldProblems(e, what, source?.file));
            }
          }
        }
        report.push({ environment: t.environment, path: t.path, ok: errors.length === 0, namespace: ns, objects, errors });
      }
      const ok = report.every((r) => r.ok);
      if (!ok && failOnError) {
        const lines = report.flatMap((r) => r.errors.map((e) => `${r.environment}: ${[e.file, e.object, e.field].filter(Boolean).join(' ')}: ${e.message}`));
        throw ApplicationFailure.create({ message: `rendered tree rejected: ${lines.join('; ')}`, type: 'RenderCheckFailed', nonRetryable: true, details: [{ ok, environments: report }] });
      }
      return { ok, environments: report };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
});
