// The result-page store of a process: the claim-check store (CEDILLE_CLAIM_CHECK_URL) with the codec
// keys (CEDILLE_CODEC_KEYS); undefined when either is unset (fan-out pages then stay inline).
import { AesGcmCodec } from './aes-gcm-codec.ts';
import { claimCheckFromEnv } from './index.ts';
import { keyringFromEnv } from './keyring.ts';
import { ResultPages } from './result-pages.ts';

export function resultPagesFromEnv(env: NodeJS.ProcessEnv = process.env): ResultPages | undefined {
  const ring = keyringFromEnv(env);
  const claimCheck = claimCheckFromEnv(env, ring);
  return ring && claimCheck ? new ResultPages(claimCheck.store, new AesGcmCodec(ring)) : undefined;
}
