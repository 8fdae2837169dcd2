// Step 5 (continued): unseal. Shamir: the shares stored by vault.init are decrypted here (KMS) and
// submitted one by one until Vault is unsealed; nothing in clear leaves the activity. Auto-unseal
// (gcpkms): Vault unseals itself with the KMS key; the activity waits for it. Unsealed: no-op.
import { setTimeout as sleep } from 'node:timers/promises';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { defineActivity } from '../define.ts';
import { VaultRef, sealStatus, vaultClient } from './_client.ts';
import { decryptItem, readBoundKeys } from './_keys.ts';

export default defineActivity({
  name: 'vault.unseal',
  description: 'Unseals Vault: Shamir shares decrypted inside the activity and submitted; with auto-unseal, waits until Vault unsealed itself.',
  input: z.strictObject({ vault: VaultRef, timeoutSeconds: z.int().min(1).max(3600).default(300) }),
  output: z.object({ sealed: z.literal(false), unsealedNow: z.boolean(), sealType: z.string(), sharesSubmitted: z.int() }),
  async handler({ vault: ref, timeoutSeconds }, ctx) {
    const client = await vaultClient(ref, ctx.signal);
    let status = await sealStatus(client);
    if (!status.initialized) throw ApplicationFailure.create({ message: `vault: ${ref.address} is not initialised`, type: 'VaultNotInitialized', nonRetryable: true });
    if (!status.sealed) return { sealed: false as const, unsealedNow: false, sealType: status.type, sharesSubmitted: 0 };
    if (status.type === 'shamir') {
      const keys = await readBoundKeys(ref, ctx.signal);
      let submitted = 0;
      for (let i = 0; i < keys.shares && status.sealed; i++) {
        const share = await decryptItem(ref, keys, `share-${i}`, ctx.signal);
        status = (await client.call<typeof status>('PUT', 'sys/unseal', { body: { key: share } })).body;
        submitted++;
        ctx.heartbeat({ submitted });
      }
      if (status.sealed) throw ApplicationFailure.create({ message: `vault: still sealed after ${submitted} shares (progress ${status.progress}/${status.t})`, type: 'VaultStillSealed', nonRetryable: false });
      return { sealed: false as const, unsealedNow: true, sealType: status.type, sharesSubmitted: submitted };
    }
    const deadline = Date.now() + timeoutSeconds * 1000;
    while (status.sealed) {
      if (Date.now() > deadline) throw ApplicationFailure.create({ message: `vault: ${status.type} seal did not unseal Vault in ${timeoutSeconds} s (check the seal's KMS permissions)`, type: 'VaultStillSealed', nonRetryable: false });
      ctx.heartbeat({ waiting: status.type });
      await sleep(1000, undefined, { signal: ctx.signal });
      status = await sealStatus(client);
    }
    return { sealed: false as const, unsealedNow: true, sealType: status.type, sharesSubmitted: 0 };
  },
});
