// Step 4: the deployment answers. Polls sys/health (any answer counts: sealed and uninitialised
// are what the next steps handle) over TLS verified with the bootstrap's CA, until a deadline kept
// across retries through the heartbeat details.
import { setTimeout as sleep } from 'node:timers/promises';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { defineActivity } from '../define.ts';
import { VaultRef, vaultClient } from './_client.ts';

const ANSWERS = [200, 429, 472, 473, 501, 503];

export default defineActivity({
  name: 'vault.waitReady',
  description: "Waits until Vault's API answers at the address (sys/health over TLS with the bootstrap CA), sealed or not.",
  input: z.strictObject({ vault: VaultRef, timeoutSeconds: z.int().min(1).max(86_400).default(900) }),
  output: z.object({ initialized: z.boolean(), sealed: z.boolean(), version: z.string(), waitedMs: z.int() }),
  async handler({ vault: ref, timeoutSeconds }, ctx) {
    const previous = ctx.heartbeatDetails as { startedAt?: number; deadline?: number } | undefined;
    const startedAt = previous?.startedAt ?? Date.now();
    const deadline = previous?.deadline ?? startedAt + timeoutSeconds * 1000;
    let last = '';
    for (;;) {
      ctx.heartbeat({ startedAt, deadline });
      try {
        const client = await vaultClient(ref, ctx.signal);
        const { body } = await client.call<{ initialized: boolean; sealed: boolean; version: string }>('GET', 'sys/health', { ok: ANSWERS });
        return { initialized: body.initialized, sealed: body.sealed, version: body.version ?? '', waitedMs: Date.now() - startedAt };
      } catch (err) {
        if (ctx.signal.aborted || (err as { type?: string }).type === 'VaultTlsMissing') throw err;
        last = (err as Error).message;
      }
      if (Date.now() > deadline) throw ApplicationFailure.create({ message: `vault: no answer from ${ref.address} in ${timeoutSeconds} s: ${last}`, type: 'VaultNotReady', nonRetryable: true });
      await sleep(1000, undefined, { signal: ctx.signal });
    }
  },
});
