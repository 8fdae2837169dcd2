// The local cluster's binaries (infra/cluster/): kube-apiserver, kube-controller-manager, kube-scheduler,
// etcd and kubectl (benchmarks, manual pokes) built from this directory's go.mod (k8s.io/kubernetes with
// its staging modules replaced by their published versions), and kwok (`go install`). Each one: its env
// override (KUBE_APISERVER_PATH, KUBE_CONTROLLER_MANAGER_PATH, KUBE_SCHEDULER_PATH, KUBECTL_PATH,
// ETCD_PATH, KWOK_PATH) wins; otherwise the pinned build under the tools cache, built on first use with
// the local Go toolchain (`go` on PATH or $GO).
// Idempotent and offline-safe: once built (a marker file says so), nothing runs Go or touches the network.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { toolsDir } from '../paths.ts';
import { run, say } from '../run.ts';
import { buildInto, goBinary, goInstall } from '../go-build.ts';
import { TOOL_VERSIONS } from '../versions.ts';
import { KUBE_TOOLS_MODULE_DIR, kubeVersionLdflags, pinnedKubeDir } from './pinned.ts';

export { KUBE_TOOLS_MODULE_DIR, kubeVersionLdflags, pinnedKubeDir };

export type KubeBinary = 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kubectl' | 'etcd';
export type ClusterBinary = KubeBinary | 'kwok';
export type ClusterTools = Record<ClusterBinary, string>;

/** The environment variable that overrides each binary. */
export const TOOL_ENV: Record<ClusterBinary, string> = {
  'kube-apiserver': 'KUBE_APISERVER_PATH',
  'kube-controller-manager': 'KUBE_CONTROLLER_MANAGER_PATH',
  'kube-scheduler': 'KUBE_SCHEDULER_PATH',
  kubectl: 'KUBECTL_PATH',
  etcd: 'ETCD_PATH',
  kwok: 'KWOK_PATH',
};

const PACKAGES: Record<KubeBinary, string> = {
  'kube-apiserver': 'k8s.io/kubernetes/cmd/kube-apiserver',
  'kube-controller-manager': 'k8s.io/kubernetes/cmd/kube-controller-manager',
  'kube-scheduler': 'k8s.io/kubernetes/cmd/kube-scheduler',
  kubectl: 'k8s.io/kubernetes/cmd/kubectl',
  etcd: 'go.etcd.io/etcd/server/v3',
};
const KUBE_BINARIES = Object.keys(PACKAGES) as KubeBinary[];

export function pinnedKwokDir(env = process.env): string {
  return join(toolsDir(env), `kwok-${TOOL_VERSIONS.kwok}`);
}

function override(name: ClusterBinary, env: NodeJS.ProcessEnv): string | undefined {
  const variable = TOOL_ENV[name];
  const value = env[variable];
  if (!value) return undefined;
  if (!existsSync(value)) throw new Error(`${variable}=${value} does not exist`);
  return value;
}


async function ensureKubeBuild(env: NodeJS.ProcessEnv): Promise<string> {
  const dir = pinnedKubeDir(env);
  if (existsSync(join(dir, '.installed'))) return dir;
  const go = goBinary(env, 'building the local cluster', `prebuilt binaries in ${Object.values(TOOL_ENV).join(', ')}`);
  const what = `Kubernetes v${TOOL_VERSIONS.kubernetes} (${KUBE_BINARIES.join(', ')}; etcd v${TOOL_VERSIONS.etcd})`;
  say(`building ${what} from ${KUBE_TOOLS_MODULE_DIR}go.mod into ${dir}`);
  say('first build only: downloads the modules from the Go proxy and compiles for several minutes');
  const goEnv = { ...env, CGO_ENABLED: '0', GOFLAGS: '-mod=readonly' };
  await buildInto(dir, what, async (tmp) => {
    const flags = ['build', '-trimpath'];
    const k8s = KUBE_BINARIES.filter((b) => b !== 'etcd');
    await run(go, [...flags, '-ldflags', kubeVersionLdflags(), '-o', `${tmp}/`, ...k8s.map((b) => PACKAGES[b])], {
      cwd: KUBE_TOOLS_MODULE_DIR,
      env: goEnv,
    });
    await run(go, [...flags, '-ldflags', '-s -w', '-o', join(tmp, 'etcd'), PACKAGES.etcd], { cwd: KUBE_TOOLS_MODULE_DIR, env: goEnv });
  });
  return dir;
}

function ensureKwok(env: NodeJS.ProcessEnv): Promise<string> {
  return goInstall(pinnedKwokDir(env), 'kwok', 'sigs.k8s.io/kwok/cmd/kwok', TOOL_VERSIONS.kwok, env);
}

/** Every binary the local cluster runs, building the pinned ones that no override replaces. */
export async function ensureClusterTools(env = process.env): Promise<ClusterTools> {
  const tools: Partial<ClusterTools> = {};
  for (const name of Object.keys(TOOL_ENV) as ClusterBinary[]) {
    const found = override(name, env);
    if (found) tools[name] = found;
  }
  if (KUBE_BINARIES.some((b) => !tools[b])) {
    const dir = await ensureKubeBuild(env);
    for (const b of KUBE_BINARIES) tools[b] ??= join(dir, b);
  }
  tools.kwok ??= await ensureKwok(env);
  return tools as ClusterTools;
}
