// The payload codec shared by the worker, the API (and so the CLI), tests and benchmarks: encrypts
// every payload Temporal stores (inputs, outputs, signals, updates, queries, memos, heartbeats)
// when CEDILLE_CODEC_KEYS is set. docs/SECURITY.md explains keys, rotation and the UI's codec endpoint.
import type { DataConverter } from '@temporalio/common';
import { AesGcmCodec } from './aes-gcm-codec.ts';
import { keyringFromEnv, type Keyring } from './keyring.ts';

export * from './keyring.ts';
export * from './aes-gcm-codec.ts';

/** The data converter of a keyring: the default payload converter, then AES-256-GCM. */
export function dataConverter(ring: Keyring): DataConverter {
  return { payloadCodecs: [new AesGcmCodec(ring)] };
}

/** The data converter CEDILLE_CODEC_KEYS asks for; undefined (Temporal's default, clear payloads) when unset. */
export function dataConverterFromEnv(env: NodeJS.ProcessEnv = process.env): DataConverter | undefined {
  const ring = keyringFromEnv(env);
  return ring ? dataConverter(ring) : undefined;
}
