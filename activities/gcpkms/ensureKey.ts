// The auto-unseal key: the key ring and the crypto key (ENCRYPT_DECRYPT, Google symmetric), each
// read first and created only when absent. Cloud KMS never deletes key rings or keys, so a create
// racing another (409 ALREADY_EXISTS) counts as found.
import { z } from 'zod';
import { defineActivity } from '../define.ts';
import { KmsKeyRef, cryptoKeyName, kmsCall, keyRingName } from './_client.ts';

async function getOrCreate(name: string, parent: string, collection: string, idParam: string, id: string, body: unknown, signal: AbortSignal): Promise<boolean> {
  if ((await kmsCall('GET', name, undefined, signal)).status !== 404) return false;
  try {
    await kmsCall('POST', `${parent}/${collection}?${idParam}=${encodeURIComponent(id)}`, body, signal);
    return true;
  } catch (err) {
    if ((err as { type?: string }).type === 'KmsConflict') return false;
    throw err;
  }
}

export default defineActivity({
  name: 'gcpkms.ensureKey',
  description: 'Creates the Cloud KMS key ring and crypto key of the Vault seal when absent (read first; never changes an existing key).',
  input: z.strictObject({ key: KmsKeyRef }),
  output: z.object({ keyRing: z.string(), cryptoKey: z.string(), createdKeyRing: z.boolean(), createdCryptoKey: z.boolean() }),
  async handler({ key }, ctx) {
    const parent = `projects/${key.project}/locations/${key.location}`;
    const createdKeyRing = await getOrCreate(keyRingName(key), parent, 'keyRings', 'keyRingId', key.keyRing, {}, ctx.signal);
    const createdCryptoKey = await getOrCreate(cryptoKeyName(key), keyRingName(key), 'cryptoKeys', 'cryptoKeyId', key.cryptoKey, {
      purpose: 'ENCRYPT_DECRYPT',
      versionTemplate: { algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION', protectionLevel: 'SOFTWARE' },
    }, ctx.signal);
    return { keyRing: keyRingName(key), cryptoKey: cryptoKeyName(key), createdKeyRing, createdCryptoKey };
  },
});
