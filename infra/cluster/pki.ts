// The local cluster's PKI, made with the `openssl` CLI (node:crypto cannot sign certificates): a CA,
// the API server's serving certificate (loopback + the in-cluster names), an admin client certificate
// (group system:masters) and the service-account signing key pair. Kept across restarts when the
// directory already holds them (`npm start -- --local-cluster`), so kubeconfigs stay valid.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { onPath } from '../tools/temporal.ts';

export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
  /** Service-account token signing key (private) and its public half (verification). */
  saKey: string;
  saPub: string;
}

/** The in-cluster names of the API server, plus loopback and the `kubernetes` Service's IP. */
export function serverAltNames(serviceIp: string): string {
  const dns = ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'];
  return [...dns.map((d) => `DNS:${d}`), 'IP:127.0.0.1', `IP:${serviceIp}`].join(',');
}

function openssl(env: NodeJS.ProcessEnv): string {
  const bin = env.OPENSSL_PATH || onPath('openssl', env);
  if (!bin) throw new Error("the local cluster needs `openssl` (Debian's openssl package) or OPENSSL_PATH");
  return bin;
}

export async function ensurePki(dir: string, opts: { serviceIp: string; env?: NodeJS.ProcessEnv }): Promise<Pki> {
  const env = opts.env ?? process.env;
  const f = (name: string) => join(dir, name);
  const pki: Pki = {
    dir,
    caCert: f('ca.crt'),
    caKey: f('ca.key'),
    serverCert: f('apiserver.crt'),
    serverKey: f('apiserver.key'),
    adminCert: f('admin.crt'),
    adminKey: f('admin.key'),
    saKey: f('sa.key'),
    saPub: f('sa.pub'),
  };
  if (existsSync(f('.complete'))) return pki;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const bin = openssl(env);
  const ssl = (...args: string[]) =>
    promisify(execFile)(bin, args).then(
      () => undefined,
      (err: Error & { stderr?: string }) => {
        throw new Error(`openssl ${args.slice(0, 2).join(' ')} failed: ${err.stderr || err.message}`, { cause: err });
      },
    );
  const ec = (key: string) => ssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key);
  const days = '3650';

  await ec(pki.caKey);
  await ssl('req', '-x509', '-new', '-key', pki.caKey, '-days', days, '-subj', '/CN=cedille-local-cluster-ca', '-out', pki.caCert,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature');

  const sign = async (name: string, subject: string, ext: string) => {
    const key = f(`${name}.key`);
    const csr = f(`${name}.csr`);
    const extFile = f(`${name}.ext`);
    await ec(key);
    await ssl('req', '-new', '-key', key, '-subj', subject, '-out', csr);
    writeFileSync(extFile, ext);
    await ssl('x509', '-req', '-in', csr, '-CA', pki.caCert, '-CAkey', pki.caKey, '-CAcreateserial', '-days', days,
      '-extfile', extFile, '-out', f(`${name}.crt`));
  };
  await sign('apiserver', '/CN=kube-apiserver',
    `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${serverAltNames(opts.serviceIp)}\n`);
  await sign('admin', '/O=system:masters/CN=cedille-admin',
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n');

  await ssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', pki.saKey);
  await ssl('pkey', '-in', pki.saKey, '-pubout', '-out', pki.saPub);
  writeFileSync(f('.complete'), 'ok\n');
  return pki;
}
