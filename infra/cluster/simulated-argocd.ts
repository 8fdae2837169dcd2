// SIMULATION of the ArgoCD application controller (and of the platform's root "app of apps"): no
// ArgoCD runs in the local cluster (tests, and the Vault and incident workflows' tests), so this
// plays its part, driven by REAL bare git repositories:
//   - root app: for every new commit on the root branch (first parent, oldest first) it reads
//     apps/argo-apps/kustomization.yaml, follows each listed directory's kustomization to its
//     argo.yaml and server-side applies the Application documents into the argocd namespace
//     (what the real `argo-apps` Application does once a merge lands); with `syncEachCommit: false`,
//     when several commits landed between two polls, the Applications sync only at the head it
//     sees, as a real ArgoCD does (by default each commit is synced before the next);
//   - application controller: for each Application whose target revision (HEAD, a branch or a
//     commit of its repoURL) resolves to a commit it has not synced yet, it checks that the source
//     path exists with a kustomization at that commit, then writes what ArgoCD writes: status.sync
//     (status, revision, comparedTo), status.health, status.operationState (phase, message,
//     syncResult.revision, startedAt/finishedAt), a status.history entry (id, revision, deployedAt,
//     source) and status.reconciledAt, going through Progressing/Running first;
//   - Applications whose repoURL it does not know are left alone (several simulations may share a
//     cluster; give each its own namespace);
//   - `fail(app, message)` makes the next syncs of an app fail like a real failed sync (OutOfSync,
//     Degraded, a SyncError condition, operationState Failed with the message); `heal(app)` undoes it.
// It polls (every `pollMs`) instead of watching: simple, and fast enough for tests.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments, parse } from 'yaml';
import { KubeClient, type KObject } from '../../activities/kubernetes/_client.ts';

const run = promisify(execFile);
const FIELD_MANAGER = 'simulated-argocd';
const API_VERSION = 'argoproj.io/v1alpha1';

export interface SimulatedArgocdOptions {
  kubeconfig: string;
  /** repoURL (as written in the Applications) -> path of the bare repository; file:// URLs and absolute paths need no entry. */
  repositories?: Record<string, string>;
  /** The root app: the repository whose `apps/argo-apps` is followed (none: Applications are only reconciled). */
  root?: { repository: string; branch?: string; path?: string };
  namespace?: string;
  pollMs?: number;
  /** Time spent Progressing before a sync completes. */
  syncDelayMs?: number;
  /** false: commits that landed together are synced only at the newest, as ArgoCD does (default true: each in turn). */
  syncEachCommit?: boolean;
}

export interface SimulatedArgocd {
  /** Syncs done, per Application name: the revisions, in order. */
  synced: Map<string, string[]>;
  /** Application documents applied by the root app. */
  applied: Set<string>;
  fail(app: string, message: string): void;
  heal(app: string): void;
  /** Stops reconciling (resolves once the current pass is over): commits pushed meanwhile land "between two polls". */
  pause(): Promise<void>;
  resume(): void;
  /** Errors of the last tick, if any (for test diagnostics). */
  lastError(): string | undefined;
  stop(): Promise<void>;
}

async function git(repo: string, ...args: string[]): Promise<string> {
  return (await run('git', ['-C', repo, ...args], { maxBuffer: 32 * 1024 * 1024 })).stdout;
}

async function tryGit(repo: string, ...args: string[]): Promise<string | undefined> {
  try {
    return await git(repo, ...args);
  } catch {
    return undefined;
  }
}

const showFile = (repo: string, rev: string, path: string) => tryGit(repo, 'show', `${rev}:${path}`);

export async function startSimulatedArgocd(opts: SimulatedArgocdOptions): Promise<SimulatedArgocd> {
  const kc = new KubeConfig();
  kc.loadFromFile(opts.kubeconfig);
  const client = new KubeClient(kc);
  const namespace = opts.namespace ?? 'argocd';
  const pollMs = opts.pollMs ?? 300;
  const syncDelayMs = opts.syncDelayMs ?? 300;
  const failing = new Map<string, string>();
  const synced = new Map<string, string[]>();
  const applied = new Set<string>();
  const inFlight = new Set<string>();
  const resync = new Set<string>();
  let rootSeen: string | undefined;
  let error: string | undefined;
  let stopped = false;
  let paused = false;

  await client.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } } as KObject, { fieldManager: FIELD_MANAGER });

  const repoPath = (repoURL: string): string | undefined => {
    if (opts.repositories?.[repoURL]) return opts.repositories[repoURL];
    if (repoURL.startsWith('file://')) return fileURLToPath(repoURL);
    if (repoURL.startsWith('/')) return repoURL;
    return undefined;
  };

  const resolve = async (repo: string, revision: string | undefined): Promise<string | undefined> => {
    const rev = !revision || revision === 'HEAD' ? 'HEAD' : revision;
    for (const ref of [rev, `refs/heads/${rev}`, `refs/tags/${rev}`]) {
      const sha = (await tryGit(repo, 'rev-parse', '--verify', '--quiet', `${ref}^{commit}`))?.trim();
      if (sha) return sha;
    }
    return undefined;
  };

  /** The Application documents the root kustomization leads to at `rev`. */
  const rootApplications = async (repo: string, rev: string, rootPath: string): Promise<KObject[]> => {
    const docs: KObject[] = [];
    const visit = async (dir: string, depth: number): Promise<void> => {
      if (depth > 3) return;
      const text = (await showFile(repo, rev, `${dir}/kustomization.yaml`)) ?? (await showFile(repo, rev, `${dir}/kustomization.yml`));
      if (text === undefined) return;
      const k = (parse(text) ?? {}) as { resources?: unknown[] };
      for (const entry of k.resources ?? []) {
        if (typeof entry !== 'string' || /^[a-z]+:\/\//.test(entry)) continue;
        const target = posix.normalize(posix.join(dir, entry)).replace(/\/$/, '');
        if (target.startsWith('..')) continue;
        if (/\.ya?ml$/.test(target)) {
          const file = await showFile(repo, rev, target);
          for (const d of file ? parseAllDocuments(file) : []) {
            const obj = d.toJSON() as KObject | null;
            if (obj?.apiVersion === API_VERSION && obj.kind === 'Application') docs.push(obj);
          }
        } else if (depth < 3) {
          await visit(target, depth + 1);
        }
      }
    };
    await visit(rootPath, 0);
    return docs;
  };

  const syncRoot = async () => {
    if (!opts.root) return;
    const repo = repoPath(opts.root.repository) ?? opts.root.repository;
    const branch = opts.root.branch ?? 'main';
    const head = await resolve(repo, branch);
    if (!head || head === rootSeen) return;
    const range = rootSeen ? `${rootSeen}..${head}` : head;
    const commits = (await git(repo, 'rev-list', '--first-parent', '--reverse', range)).split('\n').filter(Boolean);
    // The first time, only the current head; afterwards every new commit in order (no Application skipped).
    for (const commit of rootSeen ? commits : [head]) {
      for (const app of await rootApplications(repo, commit, opts.root.path ?? 'apps/argo-apps')) {
        const obj: KObject = { apiVersion: API_VERSION, kind: 'Application', metadata: { ...app.metadata, namespace }, spec: app.spec };
        await client.apply(obj, { fieldManager: FIELD_MANAGER, force: true });
        applied.add(app.metadata.name);
      }
      rootSeen = commit;
      // Each commit reconciled before the next: the Applications created by it sync at it.
      if (commit !== head && opts.syncEachCommit !== false) await reconcileAll(commit);
    }
  };

  const writeStatus = async (app: KObject, status: Record<string, unknown>) => {
    const ref = { apiVersion: API_VERSION, kind: 'Application', namespace, name: app.metadata.name };
    try {
      await client.mergePatch(ref, { status }, { subresource: 'status' });
    } catch (err) {
      // ArgoCD's own CRD has no status subresource: the status is written on the object.
      if ((err as { code?: number }).code !== 404) throw err;
      await client.mergePatch(ref, { status });
    }
  };

  const reconcile = async (app: KObject, pinned?: string) => {
    const name = app.metadata.name;
    const spec = (app.spec ?? {}) as { source?: { repoURL?: string; path?: string; targetRevision?: string }; destination?: unknown };
    const source = spec.source ?? {};
    const status = (app.status ?? {}) as { sync?: { revision?: string }; history?: { id: number }[] };
    const repo = source.repoURL ? repoPath(source.repoURL) : undefined;
    const now = () => new Date().toISOString();
    // Applications of repositories it does not know are left alone (another simulation may own them).
    if (!repo) return;
    const revision = pinned && (!source.targetRevision || source.targetRevision === 'HEAD' || source.targetRevision === 'main') ? pinned : await resolve(repo, source.targetRevision);
    const key = `${name}@${revision}`;
    if (!revision || inFlight.has(key)) return;
    const done = synced.get(name) ?? [];
    if ((status.sync?.revision === revision || done.includes(revision)) && !resync.has(name)) return;
    resync.delete(name);
    inFlight.add(key);
    try {
      const startedAt = now();
      const operation = { sync: { revision }, initiatedBy: { automated: true } };
      await writeStatus(app, {
        sync: { status: 'OutOfSync', comparedTo: { source, destination: spec.destination } },
        health: { status: 'Progressing' },
        operationState: { phase: 'Running', message: 'waiting for healthy state of apps/Deployment', operation, startedAt },
        reconciledAt: startedAt,
      });
      await new Promise((r) => setTimeout(r, syncDelayMs));
      const path = (source.path ?? '').replace(/\/$/, '');
      const hasPath = path !== '' && (await showFile(repo, revision, `${path}/kustomization.yaml`)) !== undefined;
      const failure = failing.get(name) ?? (hasPath ? undefined : `${path || '(no path)'}: app path does not exist`);
      const finishedAt = now();
      if (failure) {
        await writeStatus(app, {
          sync: { status: 'OutOfSync', revision, comparedTo: { source, destination: spec.destination } },
          health: { status: 'Degraded', message: failure },
          conditions: [{ type: 'SyncError', message: `Failed sync attempt to ${revision}: ${failure}`, lastTransitionTime: finishedAt }],
          operationState: { phase: 'Failed', message: `one or more objects failed to apply, reason: ${failure}`, operation, syncResult: { revision, source }, startedAt, finishedAt },
          reconciledAt: finishedAt,
        });
      } else {
        const history = [...(status.history ?? [])];
        history.push({ id: (history.at(-1)?.id ?? -1) + 1, revision, deployedAt: finishedAt, deployStartedAt: startedAt, source } as { id: number });
        await writeStatus(app, {
          sync: { status: 'Synced', revision, comparedTo: { source, destination: spec.destination } },
          health: { status: 'Healthy' },
          conditions: null,
          operationState: { phase: 'Succeeded', message: 'successfully synced (all tasks run)', operation, syncResult: { revision, source }, startedAt, finishedAt },
          history: history.slice(-10),
          reconciledAt: finishedAt,
        });
      }
      synced.set(name, [...done, revision]);
    } finally {
      inFlight.delete(key);
    }
  };

  const reconcileAll = async (pinned?: string) => {
    const list = await client.list(API_VERSION, 'Application', { namespace });
    await Promise.all(list.items.map((app) => reconcile(app, pinned)));
  };

  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const tick = async () => {
    try {
      if (!paused) {
        await syncRoot();
        await reconcileAll();
      }
      error = undefined;
    } catch (err) {
      error = (err as Error).message;
    }
    if (!stopped) timer = setTimeout(() => void (running = tick()), pollMs);
  };
  running = tick();
  await running;

  return {
    synced,
    applied,
    fail: (app, message) => void failing.set(app, message),
    heal(app) {
      failing.delete(app);
      resync.add(app);
    },
    async pause() {
      paused = true;
      await running;
    },
    resume() {
      paused = false;
    },
    lastError: () => error,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
