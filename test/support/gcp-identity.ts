// A worker identity for tests that call Google services (KMS, GCS) but are not about credentials: the local
// STS and IAM credentials peers, and `use(email)`, which points GOOGLE_APPLICATION_CREDENTIALS at a fresh
// `external_account` file impersonating `email` (a projected token of the ServiceAccount
// default/cedille-test-worker of the local cluster). Resource peers check tokens with `ownerOf`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubeClients, type KubeClients } from './cluster.ts';
import { workloadCredentialFile } from './gcp-credential-file.ts';
import { startGcpTokenPeers, type GcpTokenPeers } from './gcp-token-peers.ts';

export interface GcpIdentity {
  peers: GcpTokenPeers;
  ownerOf(token: string): string | undefined;
  /** Sets GOOGLE_APPLICATION_CREDENTIALS to a new credential file for `email`; returns its path. */
  use(email: string): Promise<string>;
  close(): Promise<void>;
}

export const serviceAccountEmail = (name: string) => `${name}@cedille-test.iam.gserviceaccount.com`;

export async function startGcpIdentity(k: KubeClients = kubeClients()): Promise<GcpIdentity> {
  const peers = await startGcpTokenPeers(k);
  const dir = mkdtempSync(join(process.env.CEDILLE_TEST_SCRATCH ?? tmpdir(), 'gcp-identity-'));
  return {
    peers,
    ownerOf: (token) => peers.ownerOf(token),
    async use(email) {
      const { file } = await workloadCredentialFile(k, peers, { dir, namespace: 'default', serviceAccount: 'cedille-test-worker', email });
      process.env.GOOGLE_APPLICATION_CREDENTIALS = file;
      return file;
    },
    async close() {
      await peers.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
