// Installs CustomResourceDefinitions from infra/cluster/crds/ into a cluster (tests: the local cluster;
// the real platform gets them from the operators themselves). Idempotent: server-side apply, then a
// wait for each CRD's Established condition so the caller can create objects of the new kinds at once.
// Concurrent callers (test files running in parallel) apply the same content: no conflict.
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { KubeClient, type KObject } from '../../activities/kubernetes/_client.ts';

export const CRD_DIR = fileURLToPath(new URL('./crds/', import.meta.url));

/** The ArgoCD Application CRD (argoproj.io/v1alpha1). */
export const ARGOCD_APPLICATION_CRD = 'argocd-application.yaml';

const FIELD_MANAGER = 'cedille-crd-installer';

function crdDocuments(file: string): KObject[] {
  const path = isAbsolute(file) ? file : join(CRD_DIR, file);
  return parseAllDocuments(readFileSync(path, 'utf8'))
    .map((d) => {
      if (d.errors.length) throw new Error(`${path}: ${d.errors[0]!.message}`);
      return d.toJS() as KObject | null;
    })
    .filter((d): d is KObject => Boolean(d && d.kind === 'CustomResourceDefinition'));
}

/**
 * Applies the CRDs of `files` (names under infra/cluster/crds/ or absolute paths) and waits until every
 * one is Established. `kubeconfig`: a path or a loaded KubeConfig. Resolves to the CRD names.
 */
export async function installCrds(kubeconfig: string | KubeConfig, files: string[], opts: { timeoutMs?: number } = {}): Promise<string[]> {
  let kc = kubeconfig;
  if (typeof kc === 'string') {
    const path = kc;
    kc = new KubeConfig();
    kc.loadFromFile(path);
  }
  const client = new KubeClient(kc);
  const crds = files.flatMap(crdDocuments);
  for (const crd of crds) await client.apply(crd, { fieldManager: FIELD_MANAGER, force: true });
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  for (const crd of crds) {
    for (;;) {
      const current = await client.get({ apiVersion: crd.apiVersion, kind: crd.kind, name: crd.metadata.name });
      const conditions = ((current.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []);
      if (conditions.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) throw new Error(`CRD ${crd.metadata.name} not Established after ${opts.timeoutMs ?? 30_000} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return crds.map((c) => c.metadata.name);
}
