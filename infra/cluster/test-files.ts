// Which test files run against the local Kubernetes cluster (test/run.ts starts one only for them).

/** A file under test/cluster/, test/kubernetes/ or test/workspaces/, or one named `*.k8s.*`. */
export function needsCluster(file: string): boolean {
  const f = file.split('\\').join('/');
  const base = f.slice(f.lastIndexOf('/') + 1);
  return /(^|\/)test\/(cluster|kubernetes|workspaces)\//.test(f) || base.includes('.k8s.');
}
