// Step 1 of the Vault bootstrap: a CA and a server certificate for every name Vault answers on (the
// Service, `<service>-N.<service>-internal` of each raft replica, loopback), kept in Kubernetes:
// `<secretName>` (kubernetes.io/tls: tls.crt, tls.key, ca.crt), mounted by the Helm chart, and
// `<secretName>-ca` (the CA and its key, to renew). A certificate that covers the names, was signed
// by the stored CA and stays valid for more than renewBeforeDays is reused as is; otherwise a new one
// is issued (and a new CA only when the CA itself is missing or close to expiry). Keys never leave
// the activity: the output has serials, dates and names. A retry after a crash finds what the
// previous attempt stored and reuses it.
import { z } from 'zod';
import { defineActivity } from '../define.ts';
import { kube, type KObject } from '../kubernetes/_client.ts';
import { classified, httpStatusOf } from '../kubernetes/_errors.ts';
import { kName, kNamespace } from '../kubernetes/_objects.ts';
import { certInfo, createCa, issueServer, signedBy } from './_pki.ts';

const DAY = 86_400_000;

/** The DNS names and IPs of a Vault StatefulSet's certificate. */
export function vaultServerNames(service: string, namespace: string, replicas: number, extraDnsNames: string[] = [], extraIps: string[] = []): { dnsNames: string[]; ips: string[] } {
  const internal = `${service}-internal`;
  const dnsNames = [
    service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`,
    internal, `${internal}.${namespace}.svc`,
    ...Array.from({ length: replicas }, (_, i) => `${service}-${i}.${internal}`),
    ...Array.from({ length: replicas }, (_, i) => `${service}-${i}.${internal}.${namespace}.svc`),
    'localhost', ...extraDnsNames,
  ];
  return { dnsNames: [...new Set(dnsNames)], ips: [...new Set(['127.0.0.1', ...extraIps])] };
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const unb64 = (s: string | undefined) => (s ? Buffer.from(s, 'base64').toString('utf8') : undefined);

async function readSecret(namespace: string, name: string, signal: AbortSignal): Promise<Record<string, string> | undefined> {
  return classified(`get Secret ${namespace}/${name}`, signal, async () => {
    try {
      const s = await kube().get({ apiVersion: 'v1', kind: 'Secret', namespace, name }, signal);
      return Object.fromEntries(Object.entries((s.data ?? {}) as Record<string, string>).map(([k, v]) => [k, unb64(v) ?? '']));
    } catch (err) {
      if (httpStatusOf(err) === 404) return undefined;
      throw err;
    }
  });
}

function secret(namespace: string, name: string, type: string, data: Record<string, string>, annotations: Record<string, string>): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type,
    metadata: { name, namespace, labels: { 'app.kubernetes.io/managed-by': 'cedille-workflows', 'cedille.etsmtl.ca/part-of': 'vault-bootstrap' }, annotations },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
  };
}

export default defineActivity({
  name: 'tls.ensureCertificates',
  description: "Creates, reuses or renews Vault's CA and server certificate (SANs for the Service, each <service>-N.<service>-internal and loopback) as a kubernetes.io/tls Secret with ca.crt.",
  input: z.strictObject({
    namespace: kNamespace,
    service: kName.default('vault').describe('The chart release / Service name'),
    replicas: z.int().min(1).max(15).default(3),
    secretName: kName.default('vault-tls'),
    extraDnsNames: z.array(z.string().min(1)).default([]),
    extraIps: z.array(z.union([z.ipv4(), z.ipv6()])).default([]),
    validityDays: z.int().min(1).max(3650).default(365),
    renewBeforeDays: z.int().min(0).max(3650).default(30),
    caValidityDays: z.int().min(1).max(7300).default(3650),
  }),
  output: z.object({
    secretName: z.string(),
    caSecretName: z.string(),
    serial: z.string(),
    notAfter: z.string(),
    caSerial: z.string(),
    dnsNames: z.array(z.string()),
    ips: z.array(z.string()),
    action: z.enum(['reused', 'created', 'renewed']),
  }),
  async handler(input, ctx) {
    const { namespace, service, replicas, secretName } = input;
    const caSecretName = `${secretName}-ca`;
    const { dnsNames, ips } = vaultServerNames(service, namespace, replicas, input.extraDnsNames, input.extraIps);
    const renewBefore = input.renewBeforeDays * DAY;
    const now = Date.now();

    const [current, caStored] = await Promise.all([readSecret(namespace, secretName, ctx.signal), readSecret(namespace, caSecretName, ctx.signal)]);
    let ca = caStored?.['ca.crt'] && caStored['ca.key'] ? { certPem: caStored['ca.crt'], keyPem: caStored['ca.key'] } : undefined;
    if (current?.['tls.crt'] && current['tls.key'] && ca) {
      const info = certInfo(current['tls.crt']);
      const covers = dnsNames.every((n) => info.dnsNames.includes(n)) && ips.every((ip) => info.ips.includes(ip));
      if (covers && info.notAfter.getTime() - now > renewBefore && (await signedBy(current['tls.crt'], ca.certPem))) {
        return {
          secretName, caSecretName, serial: info.serial, notAfter: info.notAfter.toISOString(), caSerial: certInfo(ca.certPem).serial,
          dnsNames: info.dnsNames, ips: info.ips, action: 'reused' as const,
        };
      }
    }
    ctx.heartbeat({ phase: 'issuing' });
    if (!ca || certInfo(ca.certPem).notAfter.getTime() - now <= Math.max(renewBefore, input.validityDays * DAY)) {
      const made = await createCa(`${service}.${namespace} CA (cedille-workflows)`, input.caValidityDays);
      ca = { certPem: made.certPem, keyPem: made.keyPem };
      await classified(`apply Secret ${namespace}/${caSecretName}`, ctx.signal, () =>
        kube().apply(secret(namespace, caSecretName, 'Opaque', { 'ca.crt': made.certPem, 'ca.key': made.keyPem }, { 'cedille.etsmtl.ca/serial': made.serial }), { force: true, signal: ctx.signal }),
      );
    }
    const issued = await issueServer(ca, `${service}.${namespace}.svc`, dnsNames, ips, input.validityDays);
    await classified(`apply Secret ${namespace}/${secretName}`, ctx.signal, () =>
      kube().apply(
        secret(namespace, secretName, 'kubernetes.io/tls', { 'tls.crt': issued.certPem, 'tls.key': issued.keyPem, 'ca.crt': ca.certPem }, {
          'cedille.etsmtl.ca/serial': issued.serial,
          'cedille.etsmtl.ca/not-after': issued.notAfter.toISOString(),
        }),
        { force: true, signal: ctx.signal },
      ),
    );
    return {
      secretName, caSecretName, serial: issued.serial, notAfter: issued.notAfter.toISOString(), caSerial: certInfo(ca.certPem).serial,
      dnsNames, ips, action: current ? ('renewed' as const) : ('created' as const),
    };
  },
});
