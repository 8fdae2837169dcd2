import { z } from 'zod';
import { ApplicationFailure } from '@temporalio/common';
import { defineActivity } from '../define.ts';
import { kube, type KObject } from '../kubernetes/_client.ts';
import { httpStatusOf, kubeFailure } from '../kubernetes/_errors.ts';
import { kName, kNamespace } from '../kubernetes/_objects.ts';
import { containsCommit, type Contains } from './_ancestry.ts';

// The state of ArgoCD Applications, read from the cluster (the Application custom resources the
// ArgoCD application controller keeps up to date), through the kubernetes activities' client.
// Polling, not watching: a handful of objects, read every few seconds, and nothing to resume after
// a worker restart but the deadline (kept through the heartbeat details, like kubernetes.waitFor).

const API_VERSION = 'argoproj.io/v1alpha1';

interface AppStatus {
  sync?: { status?: string; revision?: string };
  health?: { status?: string; message?: string };
  conditions?: { type?: string; message?: string }[];
  operationState?: { phase?: string; message?: string; syncResult?: { revision?: string }; finishedAt?: string };
  history?: { id?: number; revision?: string; deployedAt?: string }[];
}

const Observed = z.object({
  name: z.string(),
  present: z.boolean(),
  sync: z.string().nullable(),
  health: z.string().nullable(),
  revision: z.string().nullable().describe('status.sync.revision'),
  deployedAt: z.string().nullable().describe('status.history entry of the revision waited for, or of the deployed commit containing it (no revision: the last one)'),
  historyId: z.number().nullable(),
  operation: z.string().nullable().describe('operationState phase: message'),
  conditions: z.array(z.string()),
});
type Observed = z.infer<typeof Observed>;

/**
 * One Application's state against the revision waited for. `containing` holds the other revisions it
 * reports (sync, operation) that contain that revision (descendants, per git): deployed there, the
 * revision is deployed too.
 */
function observe(name: string, obj: KObject | undefined, revision: string | undefined, containing: ReadonlySet<string> = new Set()): Observed & { done: boolean; failed: boolean } {
  if (!obj) return { name, present: false, sync: null, health: null, revision: null, deployedAt: null, historyId: null, operation: null, conditions: [], done: false, failed: false };
  const st = (obj.status ?? {}) as AppStatus;
  const history = st.history ?? [];
  const at = (r: string | undefined) => !!r && (r === revision || containing.has(r));
  const syncedAt = at(st.sync?.revision);
  const entry = !revision ? history.at(-1) : (history.find((h) => h.revision === revision) ?? (syncedAt ? history.findLast((h) => h.revision === st.sync?.revision) : undefined));
  const atRevision = !revision || syncedAt || !!entry;
  const op = st.operationState;
  const opAtRevision = !revision || at(op?.syncResult?.revision) || syncedAt;
  const failed = opAtRevision && (op?.phase === 'Failed' || op?.phase === 'Error' || (st.health?.status === 'Degraded' && syncedAt));
  return {
    name,
    present: true,
    sync: st.sync?.status ?? null,
    health: st.health?.status ?? null,
    revision: st.sync?.revision ?? null,
    deployedAt: entry?.deployedAt ?? null,
    historyId: typeof entry?.id === 'number' ? entry.id : null,
    operation: op?.phase ? `${op.phase}${op.message ? `: ${op.message}` : ''}` : null,
    conditions: (st.conditions ?? []).map((c) => `${c.type ?? 'Condition'}: ${c.message ?? ''}`),
    done: atRevision && st.sync?.status === 'Synced' && st.health?.status === 'Healthy',
    failed: !!failed,
  };
}

/** One line per Application, for people: `radio-prod: OutOfSync/Degraded at abc1234; operation Failed: ...; SyncError: ...`. */
export function describeApps(apps: Observed[]): string {
  return apps
    .map((a) => {
      if (!a.present) return `${a.name}: not created yet (the root app has not synced it)`;
      const parts = [`${a.name}: ${a.sync ?? 'Unknown'}/${a.health ?? 'Unknown'}${a.revision ? ` at ${a.revision.slice(0, 12)}` : ''}`];
      if (a.operation) parts.push(`operation ${a.operation}`);
      parts.push(...a.conditions);
      return parts.join('; ');
    })
    .join('\n');
}

/** The revisions an Application reports (synced, last operation) that contain `revision`, asked of git only when needed. */
async function containingRevisions(obj: KObject, revision: string | undefined, contains: Contains | undefined): Promise<Set<string>> {
  const found = new Set<string>();
  if (!revision || !contains) return found;
  const st = (obj.status ?? {}) as AppStatus;
  const reported = new Set([st.sync?.revision, st.operationState?.syncResult?.revision].filter((r): r is string => !!r && r !== revision));
  for (const r of reported) if (await contains(r)) found.add(r);
  return found;
}

interface Progress {
  startedAt: number;
  deadline: number;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

export default defineActivity({
  name: 'argocd.waitApplications',
  description:
    'Waits until ArgoCD Applications (custom resources in the argocd namespace) report Synced and Healthy, at the ' +
    'given revision when one is given (status.sync.revision or a status.history entry), or at a later commit that ' +
    'contains it (ancestry checked with git in `repository`: ArgoCD often syncs straight to a newer commit of main). ' +
    'A failed sync (operation Failed/Error, or Degraded at the revision or a commit containing it) ends the wait: ArgoSyncFailed (non-retryable), or with onFailure: ' +
    'report an output { healthy: false, report } naming each app, its conditions and operation message. Past ' +
    'timeoutSeconds: ArgoSyncTimeout (or the report). A retried attempt keeps the first deadline.',
  input: z.strictObject({
    namespace: kNamespace.default('argocd'),
    applications: z.array(kName).min(1).max(50).describe('Application names'),
    revision: z.string().regex(/^[0-9a-f]{40}$/).optional().describe('The commit that must be deployed'),
    repository: z
      .string()
      .min(1)
      .optional()
      .describe('The GitOps git remote the Applications deploy from: a deployed commit containing `revision` counts (without it, only `revision` itself)'),
    timeoutSeconds: z.int().min(1).max(24 * 3600).default(900),
    pollSeconds: z.number().min(0.1).max(60).default(2),
    onFailure: z.enum(['fail', 'report']).default('fail'),
  }),
  output: z.object({
    healthy: z.boolean(),
    applications: z.array(Observed),
    report: z.string().describe('Per-app state, readable'),
    outcome: z.enum(['healthy', 'failed', 'timeout']),
    elapsedSeconds: z.number(),
  }),
  async handler({ namespace, applications, revision, repository, timeoutSeconds, pollSeconds, onFailure }, ctx) {
    const client = kube();
    const contains = revision && repository ? containsCommit(repository, revision, ctx.signal) : undefined;
    const prior = ctx.heartbeatDetails as Partial<Progress> | undefined;
    const startedAt = typeof prior?.startedAt === 'number' ? prior.startedAt : Date.now();
    const deadline = typeof prior?.deadline === 'number' ? prior.deadline : startedAt + timeoutSeconds * 1000;
    const what = `${applications.join(', ')}${revision ? ` at ${revision.slice(0, 12)}` : ''}`;
    for (;;) {
      const seen = await Promise.all(
        applications.map(async (name) => {
          let obj: KObject;
          try {
            obj = await client.get({ apiVersion: API_VERSION, kind: 'Application', namespace, name }, ctx.signal);
          } catch (err) {
            if (httpStatusOf(err) === 404) return observe(name, undefined, revision);
            if (ctx.signal.aborted) throw err;
            throw kubeFailure(err, `get Application ${namespace}/${name}`);
          }
          return observe(name, obj, revision, await containingRevisions(obj, revision, contains));
        }),
      );
      const apps = seen.map(({ done: _d, failed: _f, ...o }) => o);
      const report = describeApps(apps);
      const elapsedSeconds = (Date.now() - startedAt) / 1000;
      ctx.heartbeat({ startedAt, deadline, report } satisfies Progress & { report: string });
      if (seen.every((a) => a.done)) return { healthy: true, applications: apps, report, outcome: 'healthy' as const, elapsedSeconds };
      const failed = seen.filter((a) => a.failed);
      if (failed.length) {
        if (onFailure === 'report') return { healthy: false, applications: apps, report, outcome: 'failed' as const, elapsedSeconds };
        throw ApplicationFailure.create({ type: 'ArgoSyncFailed', message: `ArgoCD sync failed for ${failed.map((a) => a.name).join(', ')}:\n${report}`, nonRetryable: true, details: [apps] });
      }
      if (Date.now() >= deadline) {
        if (onFailure === 'report') return { healthy: false, applications: apps, report, outcome: 'timeout' as const, elapsedSeconds };
        throw ApplicationFailure.create({ type: 'ArgoSyncTimeout', message: `${what} not Synced and Healthy after ${Math.round(elapsedSeconds)} s:\n${report}`, nonRetryable: true, details: [apps] });
      }
      await sleep(Math.min(pollSeconds * 1000, Math.max(0, deadline - Date.now())), ctx.signal);
      if (ctx.signal.aborted) throw ApplicationFailure.create({ type: 'Cancelled', message: `wait for ${what} cancelled`, nonRetryable: true });
    }
  },
});
