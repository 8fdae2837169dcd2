// Where the pinned Kubernetes build lives, without the code that builds it: the worker's kubectl lookup
// (activities/gitops/_kubectl.ts) imports this, so the app image's code never reaches the Go build tooling.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toolsDir } from '../paths.ts';
import { TOOL_VERSIONS } from '../versions.ts';

/** This directory: the Go module the control plane is built from. */
export const KUBE_TOOLS_MODULE_DIR = fileURLToPath(new URL('.', import.meta.url));

/** The version the Kubernetes binaries report (`/version`, `--version`), stamped as `make` would. */
export function kubeVersionLdflags(version: string = TOOL_VERSIONS.kubernetes): string {
  const [major, minor] = version.split('.');
  const pkg = 'k8s.io/component-base/version';
  return [
    '-s',
    '-w',
    `-X ${pkg}.gitVersion=v${version}`,
    `-X ${pkg}.gitMajor=${major}`,
    `-X ${pkg}.gitMinor=${minor}`,
    `-X ${pkg}.gitTreeState=clean`,
    `-X ${pkg}.buildDate=1970-01-01T00:00:00Z`,
  ].join(' ');
}

/**
 * The cache directory of the Kubernetes build: named by version and a digest of go.mod + go.sum, so
 * any change to the module (a bump, a new replace) builds afresh instead of reusing stale binaries.
 */
export function pinnedKubeDir(env = process.env): string {
  const digest = createHash('sha256');
  for (const f of ['go.mod', 'go.sum', 'tools.go']) digest.update(readFileSync(join(KUBE_TOOLS_MODULE_DIR, f)));
  digest.update(kubeVersionLdflags());
  return join(toolsDir(env), `kubernetes-${TOOL_VERSIONS.kubernetes}-${digest.digest('hex').slice(0, 10)}`);
}
