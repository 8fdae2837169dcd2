// The last step: revoke the initial root token (admins generate a new one with their shares when
// they need it). Idempotent: a token Vault already refuses (403, e.g. revoked by an attempt that
// died before recording it) counts as revoked; the ciphertext is then dropped from the Secret and
// `root-revoked` recorded.
import { z } from 'zod';
import { defineActivity } from '../define.ts';
import { VaultRef, vaultClient } from './_client.ts';
import { decryptItem, readBoundKeys, writeKeys } from './_keys.ts';

export default defineActivity({
  name: 'vault.revokeRoot',
  description: 'Revokes the initial root token (read from its encrypted storage) and drops its ciphertext.',
  input: z.strictObject({ vault: VaultRef }),
  output: z.object({ revoked: z.literal(true), alreadyRevoked: z.boolean() }),
  async handler({ vault: ref }, ctx) {
    const keys = await readBoundKeys(ref, ctx.signal);
    if (keys.rootRevoked) return { revoked: true as const, alreadyRevoked: true };
    let alreadyRevoked = true;
    if (keys.data['root-token']) {
      const token = await decryptItem(ref, keys, 'root-token', ctx.signal);
      const client = await vaultClient(ref, ctx.signal);
      const res = await client.call('POST', 'auth/token/revoke-self', { token, ok: [200, 204, 403] });
      alreadyRevoked = res.status === 403;
    }
    const data = Object.fromEntries(Object.entries(keys.data).filter(([k]) => k !== 'root-token'));
    await writeKeys(ref, { ...keys, state: 'stored', rootRevoked: true, data }, ctx.signal);
    return { revoked: true as const, alreadyRevoked };
  },
});
