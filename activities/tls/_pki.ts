// Certificates with @peculiar/x509 on Node's WebCrypto: an ECDSA P-256 CA and server certificates
// it signs. Keys are generated extractable only to be written, PEM-encoded, into Kubernetes Secrets.
// @peculiar/x509 resolves its services through tsyringe, which needs a Reflect metadata polyfill first.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as never);

type KeyPair = webcrypto.CryptoKeyPair;

const ALG = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

export interface Issued {
  certPem: string;
  keyPem: string;
  serial: string;
  notAfter: Date;
}

function serial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0]! &= 0x7f; // a positive INTEGER
  return Buffer.from(bytes).toString('hex');
}

async function keyPair(): Promise<KeyPair> {
  return webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
}

async function privatePem(key: webcrypto.CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

export async function createCa(commonName: string, validityDays: number): Promise<Issued> {
  const keys = await keyPair();
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(notBefore.getTime() + validityDays * DAY);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${commonName}`,
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: SIGN,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await privatePem(keys.privateKey), serial: cert.serialNumber, notAfter };
}

export async function issueServer(ca: { certPem: string; keyPem: string }, commonName: string, dnsNames: string[], ips: string[], validityDays: number): Promise<Issued> {
  const caCert = new x509.X509Certificate(ca.certPem);
  const caKey = await webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(ca.keyPem), ALG, false, ['sign']);
  const keys = await keyPair();
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Math.min(notBefore.getTime() + validityDays * DAY, caCert.notAfter.getTime()));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${commonName}`,
    issuer: caCert.subject,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: SIGN,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([...dnsNames.map((value) => ({ type: 'dns' as const, value })), ...ips.map((value) => ({ type: 'ip' as const, value }))]),
      await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await privatePem(keys.privateKey), serial: cert.serialNumber, notAfter };
}

export interface CertInfo {
  serial: string;
  notAfter: Date;
  dnsNames: string[];
  ips: string[];
  issuer: string;
}

export function certInfo(pem: string): CertInfo {
  const cert = new x509.X509Certificate(pem);
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const names = san?.names.toJSON() ?? [];
  return {
    serial: cert.serialNumber,
    notAfter: cert.notAfter,
    dnsNames: names.filter((n) => n.type === 'dns').map((n) => n.value),
    ips: names.filter((n) => n.type === 'ip').map((n) => n.value),
    issuer: cert.issuer,
  };
}

/** Whether `certPem` was signed by `caPem`. */
export async function signedBy(certPem: string, caPem: string): Promise<boolean> {
  try {
    return await new x509.X509Certificate(certPem).verify({ publicKey: new x509.X509Certificate(caPem).publicKey, signatureOnly: true });
  } catch {
    return false;
  }
}
