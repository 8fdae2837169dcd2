// Size checks before scheduling (PATCH.sizeCheckBeforeScheduling): a command whose payload is over
// Temporal's per-payload limit fails every workflow task that carries it, forever (the run looks
// "running" and never moves). When the value is known before the command is sent, the step fails
// instead, naming what is too large. Values that large are fine when the worker has a claim-check
// store (the codec moves them out of history), so the store is asked, only for such values.
import { ApplicationFailure } from '@temporalio/workflow';
import { workerHasStore } from './steps/for-each.ts';

/** Temporal refuses payloads over 2 MiB; keep room for the encoding and encryption around the JSON. */
export const PAYLOAD_LIMIT_BYTES = 2 * 1024 * 1024 - 64 * 1024;

/** UTF-8 bytes of a value's JSON (what the payload converter writes). */
export function jsonBytes(value: unknown): number {
  const text = JSON.stringify(value) ?? '';
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c < 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** Fails (non-retryable PayloadTooLarge) when `value` cannot go into history and no claim-check store would take it. */
export async function checkPayloadSize(value: unknown, what: string): Promise<void> {
  const bytes = jsonBytes(value);
  if (bytes <= PAYLOAD_LIMIT_BYTES) return;
  if (await workerHasStore()) return;
  throw ApplicationFailure.nonRetryable(
    `${what} is ${bytes} bytes, over Temporal's payload limit (${PAYLOAD_LIMIT_BYTES} bytes here), and the worker has no claim-check store ` +
      '(CEDILLE_CLAIM_CHECK_URL) to keep it out of history: pass a reference (a file, an object URL) instead of the data',
    'PayloadTooLarge',
  );
}
