// Helpers of the class-workspaces durability tests: workers in child processes (so a test can
// SIGKILL one, or point one at a cluster of its own through KUBECONFIG), the built-in definition
// compiled for `interpret`, CSV rosters, and what a class left in the cluster.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { loadCatalog } from '../../activities/catalog.ts';
import { DefinitionRegistry } from '../../workflows/registry/index.ts';
import type { CompiledDefinition } from '../../workflows/dsl/compiled.ts';
import type { RunInput } from '../../workflows/interpreter/run-input.ts';
import { classSelector, type Course } from '../../activities/workspaces/_params.ts';
import type { KubeClients } from '../support/cluster.ts';

const WORKER_SCRIPT = fileURLToPath(new URL('../support/worker-process.ts', import.meta.url));

export interface WorkerProcess {
  child: ChildProcess;
  exited: Promise<void>;
  output(): string;
  /** SIGKILL (a crash), then wait for the exit. */
  kill(): Promise<void>;
}

/** A worker (interpreter + catalog) in a child process on `taskQueue`; resolves once it polls. */
export async function spawnWorker(taskQueue: string, env: NodeJS.ProcessEnv = process.env, ...flags: string[]): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER_SCRIPT, taskQueue, ...flags], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-8_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const proc: WorkerProcess = {
    child,
    exited,
    output: () => out,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker process not ready after 60 s:\n${out}`)), 60_000);
    const onData = () => {
      if (!out.includes('ready\n')) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      resolve();
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`worker process exited (${code ?? signal}) before ready:\n${out}`));
    });
  });
  return proc;
}

let compiled: Promise<CompiledDefinition> | undefined;
/** The built-in class-workspaces definition (worker-process.ts knows no named types: runs start `interpret`). */
export function classWorkspacesDefinition(): Promise<CompiledDefinition> {
  compiled ??= (async () => {
    const registry = await DefinitionRegistry.load({ catalog: await loadCatalog() });
    const def = registry.get('class-workspaces');
    if (!def) throw new Error('class-workspaces is not a built-in definition');
    return def;
  })();
  return compiled;
}

/** Starts class-workspaces through `interpret`; a workflow task lost with a killed worker is retried after 3 s. */
export async function startClass(client: Client, taskQueue: string, input: unknown): Promise<WorkflowHandle> {
  const definition = await classWorkspacesDefinition();
  return client.workflow.start('interpret', {
    taskQueue,
    workflowId: `class-workspaces-${randomUUID()}`,
    args: [{ definition, input } satisfies RunInput],
    workflowTaskTimeout: '3s',
  });
}

/** A CSV roster of `n` students with ids `<prefix>00000`, `<prefix>00001`, ... */
export function csvRoster(prefix: string, n: number): { csv: string; ids: string[] } {
  const ids = Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(5, '0')}`);
  const rows = ids.map((id, i) => `${id},Élève,N° ${i},${id.toLowerCase()}@ens.etsmtl.ca`);
  return { csv: `Matricule,Prénom,Nom,Courriel\n${rows.join('\n')}\n`, ids };
}

/** Names of the namespaces labelled with the class (course and term). */
export async function classNamespaces(k: KubeClients, course: Course): Promise<string[]> {
  return (await k.core.listNamespace({ labelSelector: classSelector(course) })).items.map((n) => n.metadata?.name ?? '').sort();
}

/** Deployments per namespace, for the given namespaces (0 where none). */
export async function deploymentsPerNamespace(k: KubeClients, namespaces: string[]): Promise<Map<string, { name: string; available: number }[]>> {
  const wanted = new Set(namespaces);
  const out = new Map(namespaces.map((ns) => [ns, [] as { name: string; available: number }[]]));
  for (const d of (await k.apps.listDeploymentForAllNamespaces()).items) {
    const ns = d.metadata?.namespace ?? '';
    if (wanted.has(ns)) out.get(ns)!.push({ name: d.metadata?.name ?? '', available: d.status?.availableReplicas ?? 0 });
  }
  return out;
}

/** Resolves after `ms`. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
