// The payload codec shared by the worker, the API (and so the CLI), tests and benchmarks: encrypts
// every payload Temporal stores (inputs, outputs, signals, updates, queries, memos, heartbeats)
// when CEDILLE_CODEC_KEYS is set, then, when CEDILLE_CLAIM_CHECK_URL is set too, moves the large ones
// out of history (claim-check.ts). docs/SECURITY.md explains keys, rotation and the UI's codec endpoint.
import type { DataConverter, PayloadCodec } from '@temporalio/common';
import { AesGcmCodec } from './aes-gcm-codec.ts';
import { ClaimCheckCodec, DEFAULT_CLAIM_CHECK_THRESHOLD } from './claim-check.ts';
import { keyringFromEnv, type Keyring } from './keyring.ts';
import { storeFromUrl } from './stores/index.ts';

export * from './keyring.ts';
export * from './aes-gcm-codec.ts';
export * from './claim-check.ts';
export { storeFromUrl, GcsStore, LocalDirStore, type BlobStore } from './stores/index.ts';

/**
 * The codecs in Temporal's order: encoding runs them first to last (encrypt, then claim-check the
 * ciphertext: stored objects are encrypted), decoding last to first.
 */
export function payloadCodecs(ring: Keyring, claimCheck?: ClaimCheckCodec): PayloadCodec[] {
  return [new AesGcmCodec(ring), ...(claimCheck ? [claimCheck] : [])];
}

/** The data converter of a keyring (and claim check): the default payload converter, then the codecs. */
export function dataConverter(ring: Keyring, claimCheck?: ClaimCheckCodec): DataConverter {
  return { payloadCodecs: payloadCodecs(ring, claimCheck) };
}

const SIZE = /^(\d+)\s*(|B|KiB|MiB)$/i;
const UNIT: Record<string, number> = { '': 1, b: 1, kib: 1024, mib: 1024 * 1024 };
/** Temporal warns from 512 KB per payload; a threshold above it would let such payloads through. */
export const MAX_CLAIM_CHECK_THRESHOLD = 512 * 1024;

/** A byte count: `131072`, `128KiB`, `1MiB`. */
export function parseThreshold(text: string, where = 'CEDILLE_CLAIM_CHECK_THRESHOLD'): number {
  const m = SIZE.exec(text.trim());
  const bytes = m ? Number(m[1]) * UNIT[m[2]!.toLowerCase()]! : NaN;
  if (!Number.isSafeInteger(bytes)) throw new Error(`${where}=${text}: expected a byte count (e.g. 131072, 128KiB)`);
  if (bytes < 1024 || bytes > MAX_CLAIM_CHECK_THRESHOLD) throw new Error(`${where}=${text}: must be between 1KiB and 512KiB`);
  return bytes;
}

/**
 * The claim check CEDILLE_CLAIM_CHECK_URL asks for (gs://bucket/prefix or file:///dir; threshold
 * CEDILLE_CLAIM_CHECK_THRESHOLD, default 128 KiB); undefined when unset or `off`. Refused without the codec
 * keys: the claim check never stores clear payloads.
 */
export function claimCheckFromEnv(env: NodeJS.ProcessEnv = process.env, ring: Keyring | undefined = keyringFromEnv(env)): ClaimCheckCodec | undefined {
  const url = env.CEDILLE_CLAIM_CHECK_URL?.trim();
  if (!url || /^(off|none)$/i.test(url)) {
    if (!url && env.CEDILLE_CLAIM_CHECK_THRESHOLD?.trim()) throw new Error('CEDILLE_CLAIM_CHECK_THRESHOLD is set but CEDILLE_CLAIM_CHECK_URL is not: where should large payloads go?');
    return undefined;
  }
  if (!ring) {
    throw new Error(`CEDILLE_CLAIM_CHECK_URL=${url} needs CEDILLE_CODEC_KEYS: the claim check stores payloads outside history encrypted only, never in clear. Set the codec keys (docs/SECURITY.md) or unset CEDILLE_CLAIM_CHECK_URL`);
  }
  const threshold = env.CEDILLE_CLAIM_CHECK_THRESHOLD?.trim() ? parseThreshold(env.CEDILLE_CLAIM_CHECK_THRESHOLD) : DEFAULT_CLAIM_CHECK_THRESHOLD;
  return new ClaimCheckCodec({ store: storeFromUrl(url, env), threshold });
}

/** The data converter CEDILLE_CODEC_KEYS (and CEDILLE_CLAIM_CHECK_URL) ask for; undefined (Temporal's default, clear payloads) when unset. */
export function dataConverterFromEnv(env: NodeJS.ProcessEnv = process.env): DataConverter | undefined {
  const ring = keyringFromEnv(env);
  const claimCheck = claimCheckFromEnv(env, ring);
  return ring ? dataConverter(ring, claimCheck) : undefined;
}
