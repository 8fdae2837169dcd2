// The world of the onboarding workflow tests: the platform's GitOps repository as a real bare repo
// (seeded from test/fixtures/gitops), the local GitHub peer merging in it, the ArgoCD Application CRD
// on the local cluster with the simulated ArgoCD (its own namespace per test file) syncing from the
// bare repo, a Discord receiver for the notifications, and the real API (apiTestEnv) whose worker
// runs the built-in app-onboarding definition. The worker reads its settings from the environment,
// like a deployed one: CEDILLE_GITHUB_API_URL / _TOKEN, CEDILLE_GIT_WORKDIR, CEDILLE_NOTIFY_CONFIG, and
// CEDILLE_GITOPS_CONFIG naming the GitOps repository (the runs' input names none, or a configured name).
// The simulated ArgoCD syncs commits that land together only at the newest, as a real one does.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { apiTestEnv, registerDefinitions, type ApiTestEnv, type Who } from '../support/api.ts';
import { eventually } from '../support/temporal.ts';
import { kubeClients, testKubeconfigPath } from '../support/cluster.ts';
import { seedRemote, scratchDir, type TestRemote } from '../support/git.ts';
import { startGithubPeer, type GithubPeer } from '../support/github-peer.ts';
import { discordReceiver, type DiscordReceiver } from '../notify/_servers.ts';
import { installCrds, ARGOCD_APPLICATION_CRD } from '../../infra/cluster/crds.ts';
import { startSimulatedArgocd, type SimulatedArgocd } from '../../infra/cluster/simulated-argocd.ts';
import { PLATFORM_REPO_URL } from '../../activities/gitops/_config.ts';
import type { CreateWorkerOptions } from '../../worker/worker.ts';

export const GITHUB_REPO = 'ClubCedille/Plateforme-Cedille';
/** The second configured repository of a world made with `{ sandbox: true }` (name `sandbox`). */
export const SANDBOX_GITHUB_REPO = 'ClubCedille/Plateforme-Sandbox';
export const LINK_SECRET = 'onboarding-test-link-secret-0123456789';
const FIXTURE = fileURLToPath(new URL('../fixtures/gitops/', import.meta.url));
const DEFINITION = fileURLToPath(new URL('../../workflows/definitions/app-onboarding.yaml', import.meta.url));

export interface OnboardingWorld {
  api: ApiTestEnv;
  remote: TestRemote;
  /** The repository configured as `sandbox`, when asked for. */
  sandbox?: TestRemote;
  github: GithubPeer;
  argocd: SimulatedArgocd;
  discord: DiscordReceiver;
  /** The ArgoCD namespace of this file. */
  argocdNamespace: string;
  /** Environment of a worker of this world (for a worker in a child process). */
  workerEnv: NodeJS.ProcessEnv;
  close(): Promise<void>;
}

/** The built-in definition with the approval's timers shortened (a registered definition `name`): expiry tests. */
export function quickDefinition(name: string, timers: { timeout: string; reminder: string; escalation: string }): string {
  const source = readFileSync(DEFINITION, 'utf8')
    .replace(/^ {2}name: app-onboarding$/m, `  name: ${name}`)
    .replace(/^ {2}workflowType: appOnboarding\n/m, '')
    .replace(/^( +)timeout: 68h$/m, `$1timeout: ${timers.timeout}`)
    .replace(/^( +)reminders: \[24h\]$/m, `$1reminders: [${timers.reminder}]`)
    .replace(/^( +)- after: 48h$/m, `$1- after: ${timers.escalation}`)
    .replace('before the deadline (68 hours after the request)', `before the deadline (${timers.timeout} after the request)`);
  assert.ok(source.includes(`timeout: ${timers.timeout}`) && source.includes(`name: ${name}`), 'the built-in definition changed shape');
  return source;
}

/** Sets up the world; `definitions` are registered definitions (name -> YAML source). */
export async function onboardingWorld(opts: { worker?: Partial<CreateWorkerOptions> | false; definitions?: Record<string, string>; sandbox?: boolean } = {}): Promise<OnboardingWorld> {
  const kubeconfig = testKubeconfigPath();
  await installCrds(kubeconfig, [ARGOCD_APPLICATION_CRD]);
  const remote = await seedRemote({ fromDir: FIXTURE, message: 'Plateforme-Cedille (fixture)' });
  const sandbox = opts.sandbox ? await seedRemote({ fromDir: FIXTURE, message: 'Plateforme-Sandbox (fixture)' }) : undefined;
  const github = await startGithubPeer({ [GITHUB_REPO]: remote.path, ...(sandbox ? { [SANDBOX_GITHUB_REPO]: sandbox.path } : {}) });
  const argocdNamespace = `argocd-${randomBytes(3).toString('hex')}`;
  const argocd = await startSimulatedArgocd({ kubeconfig, repositories: { [PLATFORM_REPO_URL]: remote.path }, root: { repository: remote.path }, namespace: argocdNamespace, pollMs: 250, syncDelayMs: 300, syncEachCommit: false });
  const discord = await discordReceiver();

  const dir = mkdtempSync(join(tmpdir(), 'cedille-onboarding-'));
  // The worker's GitOps configuration: the platform repository (a local bare repo, so its Applications
  // point at the platform's URL, which the simulated ArgoCD maps back to it), and the sandbox.
  const gitopsFile = join(dir, 'gitops.json');
  writeFileSync(
    gitopsFile,
    JSON.stringify({
      repository: remote.path,
      github: GITHUB_REPO,
      ...(sandbox ? { repositories: { sandbox: { repository: sandbox.path, github: SANDBOX_GITHUB_REPO, repoURL: sandbox.url } } } : {}),
    }),
  );
  const notifyFile = join(dir, 'notify.json');
  writeFileSync(
    notifyFile,
    JSON.stringify({
      directory: [
        { id: 'ada-sre', subject: 'ada-sre', name: 'Ada Lovelace', discord: { webhook: `${discord.url}/webhooks/ada` }, groups: ['sre'] },
        { id: 'grace-sre', subject: 'grace-sre', name: 'Grace Hopper', discord: { webhook: `${discord.url}/webhooks/grace` }, groups: ['sre'] },
        { id: 'edith-ets', subject: 'edith-ets', name: 'Édith Tremblay', discord: { webhook: `${discord.url}/webhooks/edith` }, groups: ['ets-it'] },
        { id: 'manny-ets', subject: 'manny-ets', name: 'Manny Manager', discord: { webhook: `${discord.url}/webhooks/manny` }, groups: ['ets-it-leads'] },
      ],
      discord: { groups: {}, default: `${discord.url}/webhooks/default` },
      publicUrl: 'http://approvals.test',
      linkSecret: LINK_SECRET,
    }),
  );
  const settings = {
    CEDILLE_GITHUB_API_URL: github.url,
    CEDILLE_GITHUB_TOKEN: github.token,
    CEDILLE_GIT_WORKDIR: scratchDir('onboarding-worker'),
    CEDILLE_GITOPS_CONFIG: gitopsFile,
    CEDILLE_NOTIFY_CONFIG: notifyFile,
    CEDILLE_LINK_SECRET: LINK_SECRET,
  };
  // The in-process worker (and the approval page) read them from this process' environment.
  Object.assign(process.env, settings);
  const api = await apiTestEnv({ worker: opts.worker ?? {}, env: settings });
  await registerDefinitions(api, Object.entries(opts.definitions ?? {}).map(([name, text]) => ({ file: `${name}.yaml`, text })));
  return {
    api,
    remote,
    ...(sandbox ? { sandbox } : {}),
    github,
    argocd,
    discord,
    argocdNamespace,
    workerEnv: { ...process.env, ...settings, TEMPORAL_ADDRESS: api.temporal.address, TEMPORAL_NAMESPACE: api.temporal.namespace },
    async close() {
      await api.close();
      await argocd.stop();
      await github.close();
      await discord.close();
      await kubeClients().core.deleteNamespace({ name: argocdNamespace }).catch(() => undefined);
    },
  };
}

/** An onboarding request for `app` of the club `club`, hostnames under cedille.club. */
export function request(app: string, club = 'radio', extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    club,
    app,
    image: `ghcr.io/clubcedille/${app}:1.4.2`,
    port: 8080,
    hostnames: { staging: [`${app}.staging.cedille.club`], prod: [`${app}.cedille.club`] },
    contacts: [{ name: 'Alice Tremblay', email: 'alice@example.org', github: 'alicet' }],
    ...extra,
  };
}

export interface RunView {
  run: { id: string; status: string; initiator?: string };
  graph: { nodes: { id: string; status: string; error?: string; approval?: { outcome?: string; pendingGroups: string[]; decisions: { approver: string; decision: string; comment?: string }[] } }[] } | null;
}

/** POST /v1/runs as `who`; the run id. */
export async function startOnboarding(w: OnboardingWorld, who: Who, input: Record<string, unknown>, definition = 'app-onboarding'): Promise<string> {
  const res = await w.api.as(who, { method: 'POST', url: '/v1/runs', payload: { definition, input: { argocdNamespace: w.argocdNamespace, syncTimeoutSeconds: 60, ...input } } });
  assert.equal(res.statusCode, 201, res.body);
  return res.json().run.id as string;
}

/** GET /v1/runs/:id; retried while the graph query has no answer (a busy worker: graph null). */
export async function runView(w: OnboardingWorld, id: string): Promise<RunView> {
  return eventually(async () => {
    const res = await w.api.as('admin', { method: 'GET', url: `/v1/runs/${id}` });
    assert.equal(res.statusCode, 200, res.body);
    const view = res.json() as RunView;
    return view.graph ? view : undefined;
  }, 30_000, `the graph of ${id}`);
}

export function nodeOf(view: RunView, id: string) {
  const n = view.graph?.nodes.find((x) => x.id === id);
  assert.ok(n, `no node ${id}`);
  return n;
}

/** Waits until the run's approval step `review` is waiting. */
export async function awaitingApproval(w: OnboardingWorld, id: string, timeoutMs = 60_000): Promise<RunView> {
  const v = await eventually(async () => {
    const view = await runView(w, id);
    return view.run.status === 'failed' || (view.graph && nodeOf(view, 'review').status === 'waiting') ? view : undefined;
  }, timeoutMs, `approval of ${id}`);
  assert.notEqual(v.run.status, 'failed', `run failed before the approval: ${JSON.stringify(v.graph?.nodes.filter((n) => n.error))}`);
  return v;
}

/** POST approve/reject as `who`. */
export function answer(w: OnboardingWorld, who: Who, id: string, decision: 'approve' | 'reject', comment?: string) {
  return w.api.as(who, { method: 'POST', url: `/v1/runs/${id}/steps/review/${decision}`, ...(comment ? { payload: { comment } } : {}) });
}

/** The run's result or failure, via Temporal. */
export async function outcome(w: OnboardingWorld, id: string): Promise<{ ok: true; output: Record<string, unknown> } | { ok: false; message: string; types: string[] }> {
  const handle = w.api.temporal.client.workflow.getHandle(id);
  try {
    return { ok: true, output: (await handle.result()) as Record<string, unknown> };
  } catch (err) {
    const types: string[] = [];
    const messages: string[] = [];
    for (let e: unknown = err, i = 0; e && i < 8; e = (e as { cause?: unknown }).cause, i++) {
      const t = (e as { type?: string }).type;
      if (t) types.push(t);
      messages.push((e as Error).message);
    }
    return { ok: false, message: messages.join(' <- '), types };
  }
}

/** Discord posts to a path, as text (content + embed titles/links/descriptions/fields). */
export function postsTo(w: OnboardingWorld, path: string): string[] {
  return w.discord.posts
    .filter((p) => p.path === path)
    .map((p) => [p.body.content, ...(p.body.embeds ?? []).flatMap((e) => [e.title, e.url, e.description, ...(e.fields ?? []).map((f) => `${f.name}: ${f.value}`)])].filter(Boolean).join('\n'));
}
