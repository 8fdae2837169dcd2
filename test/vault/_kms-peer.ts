// A local Cloud KMS: an HTTP server speaking the KMS REST API v1 wire format the gcpkms activities
// use (keyRings and cryptoKeys get/create, :testIamPermissions, :encrypt, :decrypt with additional
// authenticated data, Google-style error bodies). Keys are AES-256-GCM keys in memory. Each identity
// (the service account a bearer token was minted for) has its own set of permissions, so a test can
// play a seal identity that lacks Viewer. It records what it saw (creates, and the plaintexts it encrypted: the secrets a history must not hold).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { json, localServer, type LocalServer, type SeenRequest } from '../activities/_support.ts';

export const ALL_PERMISSIONS = [
  'cloudkms.keyRings.get', 'cloudkms.keyRings.create', 'cloudkms.cryptoKeys.get', 'cloudkms.cryptoKeys.create',
  'cloudkms.cryptoKeyVersions.useToEncrypt', 'cloudkms.cryptoKeyVersions.useToDecrypt',
];

export interface KmsPeer {
  endpoint: string;
  server: LocalServer;
  /** identity (the service account of the token, see startKmsPeer) -> permissions it holds */
  grants: Map<string, string[]>;
  keyRings: Set<string>;
  cryptoKeys: Map<string, Buffer>;
  /** { aad, plaintext } of every :encrypt */
  encrypted: { aad: string; plaintext: string }[];
  /** Resource names created through the API. */
  created: string[];
  /** Adds a key ring and crypto key directly (as if made by Pulumi earlier). */
  seedKey(keyRing: string, cryptoKey: string): void;
  close(): Promise<void>;
}

function error(res: ServerResponse, code: number, status: string, message: string): void {
  json(res, code, { error: { code, message, status } });
}

/** `identify` says whose access token a request carries (the IAM credentials peer's ownerOf). */
export async function startKmsPeer(identify: (token: string) => string | undefined): Promise<KmsPeer> {
  const grants = new Map<string, string[]>();
  const keyRings = new Set<string>();
  const cryptoKeys = new Map<string, Buffer>();
  const encrypted: { aad: string; plaintext: string }[] = [];
  const created: string[] = [];

  const handle = (req: SeenRequest, res: ServerResponse) => {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const who = token ? identify(token) : undefined;
    const granted = who ? grants.get(who) : undefined;
    if (!granted) return error(res, 401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials.');
    const url = new URL(req.url, 'http://kms');
    const path = decodeURIComponent(url.pathname.replace(/^\/v1\//, ''));
    const body = req.body ? (JSON.parse(req.body) as Record<string, unknown>) : {};
    const need = (perm: string, resource: string) => {
      if (granted.includes(perm)) return true;
      error(res, 403, 'PERMISSION_DENIED', `Permission '${perm}' denied on resource '${resource}' (or it may not exist).`);
      return false;
    };
    let m: RegExpExecArray | null;
    if ((m = /^(projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/:]+)(?:\/cryptoKeys\/([^/:]+))?:testIamPermissions$/.exec(path)) && req.method === 'POST') {
      const resource = m[2] ? `${m[1]}/cryptoKeys/${m[2]}` : m[1]!;
      if (!(m[2] ? cryptoKeys.has(resource) : keyRings.has(resource))) return error(res, 404, 'NOT_FOUND', `${resource} not found.`);
      const asked = (body.permissions as string[] | undefined) ?? [];
      return json(res, 200, { permissions: asked.filter((p) => granted.includes(p)) });
    }
    if ((m = /^(projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/:]+):(encrypt|decrypt)$/.exec(path)) && req.method === 'POST') {
      const name = m[1]!;
      const key = cryptoKeys.get(name);
      if (!need(m[2] === 'encrypt' ? 'cloudkms.cryptoKeyVersions.useToEncrypt' : 'cloudkms.cryptoKeyVersions.useToDecrypt', name)) return;
      if (!key) return error(res, 404, 'NOT_FOUND', `${name} not found.`);
      const aad = Buffer.from((body.additionalAuthenticatedData as string | undefined) ?? '', 'base64');
      if (m[2] === 'encrypt') {
        const plaintext = Buffer.from(body.plaintext as string, 'base64');
        encrypted.push({ aad: aad.toString('utf8'), plaintext: plaintext.toString('utf8') });
        const iv = randomBytes(12);
        const c = createCipheriv('aes-256-gcm', key, iv).setAAD(aad);
        const ct = Buffer.concat([c.update(plaintext), c.final()]);
        return json(res, 200, { name: `${name}/cryptoKeyVersions/1`, ciphertext: Buffer.concat([iv, c.getAuthTag(), ct]).toString('base64') });
      }
      const blob = Buffer.from(body.ciphertext as string, 'base64');
      try {
        const d = createDecipheriv('aes-256-gcm', key, blob.subarray(0, 12)).setAAD(aad).setAuthTag(blob.subarray(12, 28));
        return json(res, 200, { plaintext: Buffer.concat([d.update(blob.subarray(28)), d.final()]).toString('base64') });
      } catch {
        return error(res, 400, 'INVALID_ARGUMENT', 'Decryption failed: the ciphertext is invalid.');
      }
    }
    if ((m = /^(projects\/[^/]+\/locations\/[^/]+)\/keyRings$/.exec(path)) && req.method === 'POST') {
      const name = `${m[1]}/keyRings/${url.searchParams.get('keyRingId')}`;
      if (!need('cloudkms.keyRings.create', m[1]!)) return;
      if (keyRings.has(name)) return error(res, 409, 'ALREADY_EXISTS', `KeyRing ${name} already exists.`);
      keyRings.add(name);
      created.push(name);
      return json(res, 200, { name, createTime: new Date().toISOString() });
    }
    if ((m = /^(projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+)\/cryptoKeys$/.exec(path)) && req.method === 'POST') {
      const name = `${m[1]}/cryptoKeys/${url.searchParams.get('cryptoKeyId')}`;
      if (!need('cloudkms.cryptoKeys.create', m[1]!)) return;
      if (!keyRings.has(m[1]!)) return error(res, 404, 'NOT_FOUND', `${m[1]} not found.`);
      if (cryptoKeys.has(name)) return error(res, 409, 'ALREADY_EXISTS', `CryptoKey ${name} already exists.`);
      cryptoKeys.set(name, randomBytes(32));
      created.push(name);
      return json(res, 200, { name, purpose: body.purpose ?? 'ENCRYPT_DECRYPT', primary: { name: `${name}/cryptoKeyVersions/1`, state: 'ENABLED' } });
    }
    if ((m = /^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+(\/cryptoKeys\/[^/]+)?$/.exec(path)) && req.method === 'GET') {
      const isKey = Boolean(m[1]);
      if (!need(isKey ? 'cloudkms.cryptoKeys.get' : 'cloudkms.keyRings.get', path)) return;
      if (!(isKey ? cryptoKeys.has(path) : keyRings.has(path))) return error(res, 404, 'NOT_FOUND', `${path} not found.`);
      return json(res, 200, isKey ? { name: path, purpose: 'ENCRYPT_DECRYPT', primary: { name: `${path}/cryptoKeyVersions/1`, state: 'ENABLED' } } : { name: path });
    }
    return error(res, 404, 'NOT_FOUND', `no route ${req.method} ${path}`);
  };

  const server = await localServer(handle);
  return {
    endpoint: `http://${server.host}`,
    server,
    grants,
    keyRings,
    cryptoKeys,
    encrypted,
    created,
    seedKey(keyRing, cryptoKey) {
      keyRings.add(keyRing);
      cryptoKeys.set(`${keyRing}/cryptoKeys/${cryptoKey}`, randomBytes(32));
    },
    close: () => server.close(),
  };
}
