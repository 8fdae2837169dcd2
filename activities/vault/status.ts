import { z } from 'zod';
import { defineActivity } from '../define.ts';
import { VaultRef, sealStatus, vaultClient } from './_client.ts';
import { readKeys } from './_keys.ts';

export default defineActivity({
  name: 'vault.status',
  description: "Vault's seal status (initialised, sealed, seal type, version) and the state of the bootstrap's stored init material.",
  input: z.strictObject({ vault: VaultRef }),
  output: z.object({
    initialized: z.boolean(),
    sealed: z.boolean(),
    sealType: z.string(),
    version: z.string(),
    keysStored: z.boolean(),
    rootRevoked: z.boolean(),
  }),
  async handler({ vault: ref }, ctx) {
    const status = await sealStatus(await vaultClient(ref, ctx.signal));
    const keys = await readKeys(ref, ctx.signal);
    return { initialized: status.initialized, sealed: status.sealed, sealType: status.type, version: status.version ?? '', keysStored: keys.state === 'stored', rootRevoked: keys.rootRevoked };
  },
});
