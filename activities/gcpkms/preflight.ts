// The seal's IAM preflight, before anything is created or deployed: does the identity Vault will
// use (the key reference's token) hold Encrypter/Decrypter *and* Viewer on the crypto key? Missing
// Viewer (cloudkms.cryptoKeys.get) is what makes a gcpckms seal fail only at Vault's start.
// Tested with :testIamPermissions on the crypto key, or, before it exists, on its key ring (IAM is
// inherited) together with the permission to create it. Nothing exists yet: nothing to test on,
// reported as `testedOn: none` (the workflow checks again once gcpkms.ensureKey made the key).
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { defineActivity } from '../define.ts';
import { KmsKeyRef, SEAL_PERMISSIONS, cryptoKeyName, keyRingName, testIamPermissions } from './_client.ts';

export default defineActivity({
  name: 'gcpkms.preflight',
  description: 'Checks the seal identity holds cloudkms.cryptoKeyVersions.useToEncrypt/useToDecrypt and cloudkms.cryptoKeys.get on the key (testIamPermissions); fails KmsPermissionDenied naming what is missing.',
  input: z.strictObject({ key: KmsKeyRef }),
  output: z.object({ testedOn: z.enum(['cryptoKey', 'keyRing', 'none']), resource: z.string(), granted: z.array(z.string()) }),
  async handler({ key }, ctx) {
    const onKey = await testIamPermissions(key, cryptoKeyName(key), SEAL_PERMISSIONS, ctx.signal);
    let testedOn: 'cryptoKey' | 'keyRing' = 'cryptoKey';
    let resource = cryptoKeyName(key);
    let wanted: string[] = [...SEAL_PERMISSIONS];
    let granted = onKey;
    if (granted === undefined) {
      wanted = [...SEAL_PERMISSIONS, 'cloudkms.cryptoKeys.create'];
      testedOn = 'keyRing';
      resource = keyRingName(key);
      granted = await testIamPermissions(key, resource, wanted, ctx.signal);
      if (granted === undefined) return { testedOn: 'none' as const, resource: `projects/${key.project}/locations/${key.location}`, granted: [] };
    }
    const missing = wanted.filter((p) => !granted.includes(p));
    if (missing.length) {
      throw ApplicationFailure.create({
        message: `gcpkms: the seal identity lacks ${missing.join(', ')} on ${resource}: grant roles/cloudkms.cryptoKeyEncrypterDecrypter and roles/cloudkms.viewer`,
        type: 'KmsPermissionDenied',
        nonRetryable: true,
        details: [{ resource, missing, granted }],
      });
    }
    return { testedOn, resource, granted };
  },
});
