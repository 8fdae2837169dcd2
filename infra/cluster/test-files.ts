// Which shared servers a test file needs beyond the Temporal of the run (test/run.ts starts each one only
// when a file of the run needs it): by folder, or by a marker in the file name.

function matches(file: string, folders: string[], marker: string): boolean {
  const f = file.split('\\').join('/');
  const base = f.slice(f.lastIndexOf('/') + 1);
  return new RegExp(`(^|/)test/(${folders.join('|')})/`).test(f) || base.includes(`.${marker}.`);
}

/** The local Kubernetes cluster: test/{cluster,kubernetes,workspaces,backup,onboarding,vault,incidents}/ or `*.k8s.*`. */
export function needsCluster(file: string): boolean {
  return matches(file, ['cluster', 'kubernetes', 'workspaces', 'backup', 'onboarding', 'vault', 'incidents'], 'k8s');
}

/** fake-gcs-server (CEDILLE_TEST_GCS_URL): test/backup/ or `*.gcs.*`. */
export function needsGcs(file: string): boolean {
  return matches(file, ['backup'], 'gcs');
}

/** A dev-mode OpenBao (CEDILLE_TEST_VAULT_ADDR, CEDILLE_TEST_VAULT_TOKEN): test/backup/, test/codec/ or `*.vault.*`. */
export function needsVaultDev(file: string): boolean {
  return matches(file, ['backup', 'codec'], 'vault');
}

/**
 * The real Temporal server on PostgreSQL (CEDILLE_TEST_TEMPORAL_SERVER_ADDRESS, CEDILLE_TEST_POSTGRES_URL),
 * whatever CEDILLE_TEST_TEMPORAL selects for the rest of the run: test/production/ or `*.temporal-server.*`.
 */
export function needsTemporalServer(file: string): boolean {
  return matches(file, ['production'], 'temporal-server');
}

/**
 * A PostgreSQL server (CEDILLE_TEST_POSTGRES_URL) for tests that make databases of their own (the
 * platform database, test/support/postgres.ts): test/{api,incidents,links,registry,production}/ or
 * `*.postgres.*`. The real Temporal server's PostgreSQL serves when that one runs too.
 */
export function needsPostgres(file: string): boolean {
  return matches(file, ['api', 'incidents', 'links', 'registry', 'production'], 'postgres');
}
