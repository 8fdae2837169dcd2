// Helpers of the class-workspaces durability tests: workers in child processes (test/support/
// spawn-worker.ts, re-exported), the built-in definition
// compiled for `interpret`, CSV rosters, and what a class left in the cluster.
import { randomUUID } from 'node:crypto';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { loadCatalog } from '../../activities/catalog.ts';
import { DefinitionRegistry } from '../../workflows/registry/index.ts';
import type { CompiledDefinition } from '../../workflows/dsl/compiled.ts';
import { ticketed } from '../support/temporal.ts';
import { classSelector, type Course } from '../../activities/workspaces/_params.ts';
import type { KubeClients } from '../support/cluster.ts';
export { spawnWorker, type WorkerProcess } from '../support/spawn-worker.ts';

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
  const workflowId = `class-workspaces-${randomUUID()}`;
  return client.workflow.start('interpret', {
    taskQueue,
    workflowId,
    args: [ticketed(workflowId, { definition, input })],
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
