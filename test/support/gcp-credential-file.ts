// An `external_account` credential file as an operator would write it for a bare-metal cluster
// (`gcloud iam workload-identity-pools create-cred-config … --credential-source-file=<projected token>`),
// pointing at the local STS and IAM credentials peers, with a real projected ServiceAccount token from the
// local kube-apiserver (TokenRequest, audience the provider's) as its subject-token file.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeClient, type KObject } from '../../activities/kubernetes/_client.ts';
import { JWT_TOKEN_TYPE } from '../../gcp/credentials.ts';
import type { KubeClients } from './cluster.ts';
import { PROVIDER_NAME, TOKEN_AUDIENCE, principal, type GcpTokenPeers } from './gcp-token-peers.ts';

let files = 0;

export interface WorkloadCredential {
  file: string;
  tokenFile: string;
  /** The Kubernetes principal the STS maps the token to (google.subject). */
  subject: string;
}

/**
 * Writes a credential file impersonating `email` for the ServiceAccount `namespace/serviceAccount` (made if
 * missing); binds that principal to `email` on the IAM peer unless `bind` is false.
 */
export async function workloadCredentialFile(k: KubeClients, peers: GcpTokenPeers, o: { dir: string; namespace: string; serviceAccount: string; email: string; bind?: boolean; audience?: string }): Promise<WorkloadCredential> {
  const sa = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: o.serviceAccount, namespace: o.namespace } } as KObject;
  await new KubeClient(k.kc).apply(sa, { force: true, fieldManager: 'cedille-tests' });
  const tr = await k.core.createNamespacedServiceAccountToken({ namespace: o.namespace, name: o.serviceAccount, body: { spec: { audiences: [TOKEN_AUDIENCE], expirationSeconds: 3600 } } });
  const n = ++files;
  const tokenFile = join(o.dir, `token-${n}`);
  writeFileSync(tokenFile, tr.status?.token ?? '', { mode: 0o600 });
  const file = join(o.dir, `credentials-${n}.json`);
  writeFileSync(file, JSON.stringify(externalAccount(peers, { audience: o.audience ?? PROVIDER_NAME, email: o.email, tokenFile }), null, 2));
  const subject = `system:serviceaccount:${o.namespace}:${o.serviceAccount}`;
  if (o.bind !== false) {
    const members = peers.bindings.get(o.email) ?? new Set<string>();
    members.add(principal(subject));
    peers.bindings.set(o.email, members);
  }
  return { file, tokenFile, subject };
}

/** The credential file's content (what create-cred-config writes, with the peers' URLs). */
export function externalAccount(peers: GcpTokenPeers, o: { audience: string; email: string; tokenFile: string }): Record<string, unknown> {
  return {
    type: 'external_account',
    audience: o.audience,
    subject_token_type: JWT_TOKEN_TYPE,
    token_url: peers.tokenUrl,
    service_account_impersonation_url: peers.impersonationUrl(o.email),
    credential_source: { file: o.tokenFile },
  };
}
