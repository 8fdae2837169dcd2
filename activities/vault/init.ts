// Step 5: initialise Vault exactly once. An initialised Vault is never initialised again: with its
// init material stored (state `stored`) the step reports it and changes nothing; without it, it
// fails (VaultInitializedElsewhere, or VaultInitKeysLost when a run died between init and storing)
// rather than guess. Otherwise: check the KMS key encrypts, mark the Secret `started`, call
// sys/init, and at once store the root token and every share encrypted with KMS (and each share
// PGP-encrypted to one admin when their keys are given). The shares and the token exist in clear
// only in this function's memory: the output has counts and fingerprints.
import { setTimeout as sleep } from 'node:timers/promises';
import { ApplicationFailure } from '@temporalio/common';
import * as openpgp from 'openpgp';
import { z } from 'zod';
import { defineActivity } from '../define.ts';
import { VaultRef, vaultClient } from './_client.ts';
import { encryptItem, fingerprint, readBoundKeys, readKeys, writeKeys, type StoredKeys } from './_keys.ts';

interface InitResponse {
  keys_base64?: string[];
  recovery_keys_base64?: string[];
  root_token: string;
}

/** KMS encryption right after init is the one call that must not give up easily. */
async function persistently<T>(what: string, call: () => Promise<T>, ctx: { signal: AbortSignal; heartbeat(d?: unknown): void }): Promise<T> {
  const { signal } = ctx;
  for (let attempt = 1; ; attempt++) {
    ctx.heartbeat({ phase: what, attempt });
    try {
      return await call();
    } catch (err) {
      if (attempt >= 8 || signal.aborted || (err as { nonRetryable?: boolean }).nonRetryable) {
        throw ApplicationFailure.create({ message: `vault: ${what} failed after init; Vault is initialised but its keys were not stored: ${(err as Error).message}`, type: 'VaultInitKeysLost', nonRetryable: true });
      }
      await sleep(Math.min(500 * 2 ** attempt, 5_000));
    }
  }
}

const Output = z.object({
  initialized: z.literal(true),
  alreadyInitialized: z.boolean(),
  sealType: z.string(),
  keysSecret: z.string(),
  shares: z.int(),
  threshold: z.int(),
  shareFingerprints: z.array(z.string()),
  rootTokenFingerprint: z.string(),
  pgpFingerprints: z.array(z.string()),
  rootRevoked: z.boolean(),
});

function report(ref: VaultRef, keys: Omit<StoredKeys, 'address'>, alreadyInitialized: boolean): z.input<typeof Output> {
  return {
    initialized: true, alreadyInitialized, sealType: keys.sealType, keysSecret: `${ref.namespace}/${ref.keysSecret}`,
    shares: keys.shares, threshold: keys.threshold, shareFingerprints: keys.shareFingerprints,
    rootTokenFingerprint: keys.rootTokenFingerprint, pgpFingerprints: keys.pgpFingerprints, rootRevoked: keys.rootRevoked,
  };
}

export default defineActivity({
  name: 'vault.init',
  description: 'Initialises Vault once (never an initialised one); stores the root token and the unseal/recovery shares KMS-encrypted (and PGP-encrypted to admins) in a Secret; returns only references and fingerprints.',
  input: z.strictObject({
    vault: VaultRef,
    seal: z.enum(['shamir', 'gcpkms']).describe('shamir: unseal shares; gcpkms: auto-unseal, recovery shares'),
    shares: z.int().min(1).max(10).default(5),
    threshold: z.int().min(1).max(10).default(3),
    pgpKeys: z.array(z.string().includes('BEGIN PGP PUBLIC KEY BLOCK')).default([]).describe("Admins' armored public keys: share N is also encrypted to key N (as many keys as shares)"),
  }).refine((i) => i.threshold <= i.shares, { message: 'threshold must not exceed shares', path: ['threshold'] })
    .refine((i) => i.pgpKeys.length === 0 || i.pgpKeys.length === i.shares, { message: 'one PGP key per share', path: ['pgpKeys'] }),
  output: Output,
  async handler({ vault: ref, seal, shares, threshold, pgpKeys }, ctx) {
    const client = await vaultClient(ref, ctx.signal);
    const { initialized } = (await client.call<{ initialized: boolean }>('GET', 'sys/init')).body;
    const stored = await readBoundKeys(ref, ctx.signal);
    if (initialized) {
      if (stored.state === 'stored') return report(ref, stored, true);
      // A previous attempt that Temporal gave up on (heartbeat timeout) may still be storing: give it time.
      if (stored.state === 'started' && ctx.attempt > 1) {
        for (let i = 0; i < 60; i++) {
          ctx.heartbeat({ phase: 'waiting for a previous attempt to store the keys' });
          await sleep(1000, undefined, { signal: ctx.signal });
          const again = await readKeys(ref, ctx.signal);
          if (again.state === 'stored') return report(ref, again, true);
        }
      }
      throw ApplicationFailure.create({
        message: stored.state === 'started'
          ? `vault: ${ref.address} was initialised by a bootstrap that died before storing its keys: they are lost; wipe Vault's storage and run again`
          : `vault: ${ref.address} is already initialised, but not by this bootstrap (no ${ref.namespace}/${ref.keysSecret}): refusing to touch it`,
        type: stored.state === 'started' ? 'VaultInitKeysLost' : 'VaultInitializedElsewhere',
        nonRetryable: true,
      });
    }

    const admins = await Promise.all(pgpKeys.map((armoredKey) => openpgp.readKey({ armoredKey })));
    await encryptItem(ref, 'probe', 'probe', ctx.signal); // the KMS key works, before there is anything to lose
    const base = { sealType: seal, shares, threshold, rootRevoked: false, shareFingerprints: [], rootTokenFingerprint: '', pgpFingerprints: admins.map((k) => k.getFingerprint()), data: {} };
    await writeKeys(ref, { ...base, state: 'started' }, ctx.signal);
    ctx.heartbeat({ phase: 'init' });

    const body = seal === 'shamir' ? { secret_shares: shares, secret_threshold: threshold } : { recovery_shares: shares, recovery_threshold: threshold };
    const res = (await client.call<InitResponse>('PUT', 'sys/init', { body })).body;
    const plain = (seal === 'shamir' ? res.keys_base64 : res.recovery_keys_base64) ?? [];
    const data: Record<string, Buffer> = {};
    data['root-token'] = await persistently('encrypting the root token', () => encryptItem(ref, 'root-token', res.root_token, ctx.signal), ctx);
    for (const [i, share] of plain.entries()) {
      ctx.heartbeat({ phase: 'storing', share: i });
      data[`share-${i}`] = await persistently(`encrypting share ${i}`, () => encryptItem(ref, `share-${i}`, share, ctx.signal), ctx);
      const admin = admins[i];
      if (admin) {
        const armored = await openpgp.encrypt({ message: await openpgp.createMessage({ text: share }), encryptionKeys: admin });
        data[`share-${i}.asc`] = Buffer.from(armored, 'utf8');
      }
    }
    const keys = { ...base, state: 'stored' as const, shareFingerprints: plain.map((s) => fingerprint(s)), rootTokenFingerprint: fingerprint(res.root_token), data };
    await persistently('storing the keys Secret', () => writeKeys(ref, keys, ctx.signal), ctx);
    ctx.log.info('vault initialised', { address: ref.address, shares: plain.length, threshold });
    return report(ref, keys, false);
  },
});
