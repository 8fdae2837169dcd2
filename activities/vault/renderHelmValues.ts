// Step 3: the values of the official chart (hashicorp/vault, or openbao/openbao which keeps its
// layout) for an HA raft cluster: TLS from the Secret of step 1 (mounted under
// /vault/userconfig/<secret>), every replica joining the first over TLS, the seal stanza
// (gcpckms, or none for Shamir), the service account Kubernetes auth binds, audit and data volumes.
// Pure: no secret in it; git.commitFiles puts it in the GitOps repository.
import { stringify } from 'yaml';
import { z } from 'zod';
import { defineActivity } from '../define.ts';
import { KmsKeyRef } from '../gcpkms/_client.ts';
import { kName, kNamespace } from '../kubernetes/_objects.ts';

export interface HelmValuesInput {
  chart: 'vault' | 'openbao';
  namespace: string;
  service: string;
  replicas: number;
  tlsSecret: string;
  serviceAccount: string;
  serviceAccountAnnotations: Record<string, string>;
  seal: 'shamir' | 'gcpkms';
  kms?: z.output<typeof KmsKeyRef> | undefined;
  storageClass?: string | undefined;
  dataSize: string;
}

/** The server configuration (HCL) of the chart's raft mode. */
export function serverConfig(v: HelmValuesInput): string {
  const dir = `/vault/userconfig/${v.tlsSecret}`;
  const joins = Array.from({ length: v.replicas }, (_, i) => [
    '  retry_join {',
    `    leader_api_addr         = "https://${v.service}-${i}.${v.service}-internal:8200"`,
    `    leader_ca_cert_file     = "${dir}/ca.crt"`,
    `    leader_client_cert_file = "${dir}/tls.crt"`,
    `    leader_client_key_file  = "${dir}/tls.key"`,
    '  }',
  ].join('\n'));
  const seal = v.seal === 'gcpkms' && v.kms
    ? ['seal "gcpckms" {', `  project    = "${v.kms.project}"`, `  region     = "${v.kms.location}"`, `  key_ring   = "${v.kms.keyRing}"`, `  crypto_key = "${v.kms.cryptoKey}"`, '}', '']
    : [];
  return [
    'ui = true',
    '',
    'listener "tcp" {',
    '  address            = "[::]:8200"',
    '  cluster_address    = "[::]:8201"',
    `  tls_cert_file      = "${dir}/tls.crt"`,
    `  tls_key_file       = "${dir}/tls.key"`,
    `  tls_client_ca_file = "${dir}/ca.crt"`,
    '}',
    '',
    'storage "raft" {',
    '  path = "/vault/data"',
    ...joins,
    '}',
    '',
    ...seal,
    'service_registration "kubernetes" {}',
    '',
  ].join('\n');
}

export function helmValues(v: HelmValuesInput): Record<string, unknown> {
  const dir = `/vault/userconfig/${v.tlsSecret}`;
  return {
    global: { enabled: true, tlsDisable: false },
    injector: { enabled: false },
    server: {
      extraEnvironmentVars: { VAULT_CACERT: `${dir}/ca.crt`, VAULT_TLSCERT: `${dir}/tls.crt`, VAULT_TLSKEY: `${dir}/tls.key` },
      volumes: [{ name: 'userconfig-tls', secret: { secretName: v.tlsSecret, defaultMode: 0o440 } }],
      volumeMounts: [{ name: 'userconfig-tls', mountPath: dir, readOnly: true }],
      serviceAccount: { create: true, name: v.serviceAccount, ...(Object.keys(v.serviceAccountAnnotations).length ? { annotations: v.serviceAccountAnnotations } : {}) },
      dataStorage: { enabled: true, size: v.dataSize, ...(v.storageClass ? { storageClass: v.storageClass } : {}) },
      auditStorage: { enabled: true, ...(v.storageClass ? { storageClass: v.storageClass } : {}) },
      standalone: { enabled: false },
      ha: { enabled: true, replicas: v.replicas, raft: { enabled: true, setNodeId: true, config: serverConfig(v) } },
    },
    ui: { enabled: true },
  };
}

export default defineActivity({
  name: 'vault.renderHelmValues',
  description: "Renders the official chart's values for HA raft with TLS from the bootstrap Secret, the seal stanza (gcpckms or Shamir) and Vault's service account.",
  input: z.strictObject({
    chart: z.enum(['vault', 'openbao']).default('vault'),
    namespace: kNamespace,
    service: kName.default('vault'),
    replicas: z.int().min(1).max(15).default(3),
    tlsSecret: kName.default('vault-tls'),
    serviceAccount: kName.default('vault'),
    serviceAccountAnnotations: z.record(z.string(), z.string()).default({}).describe('e.g. iam.gke.io/gcp-service-account for the seal identity'),
    seal: z.enum(['shamir', 'gcpkms']),
    kms: KmsKeyRef.optional(),
    storageClass: z.string().optional(),
    dataSize: z.string().default('10Gi'),
    path: z.string().min(1).default('apps/vault/values.yaml').describe('Where the values go in the GitOps repository'),
  }),
  output: z.object({ path: z.string(), content: z.string(), files: z.record(z.string(), z.string()) }),
  async handler(input) {
    const header = `# Rendered by cedille-workflows (vault-bootstrap): ${input.chart} chart, HA raft, ${input.replicas} replicas, seal ${input.seal}.\n# TLS from the Secret ${input.namespace}/${input.tlsSecret}; no secret in this file.\n`;
    const content = header + stringify(helmValues(input), { lineWidth: 0 });
    return { path: input.path, content, files: { [input.path]: content } };
  },
});
