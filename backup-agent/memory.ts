// Keeps the agent's RSS flat. Every stage allocates and drops ~1 MiB Buffers; V8 frees their memory
// (outside its heap) only when a GC runs, and lets up to ~64 MB of such dead external memory pile up
// before it triggers one on its own. A young-generation GC every few MiB of stream frees them early;
// it costs well under a millisecond each time.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = (opts?: { type?: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void;

let gc: Gc | null | undefined;
function collector(): Gc | null {
  if (gc !== undefined) return gc;
  try {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as Gc;
  } catch {
    gc = null;
  }
  return gc;
}

/**
 * Returns a function to call with byte counts: a minor GC every `everyBytes`, and a full one every 8 of
 * those (buffers queued between stages live long enough to be promoted out of the young generation).
 */
export function gcEvery(everyBytes = 2 << 20): (bytes: number) => void {
  let since = 0;
  let minors = 0; // a full GC every 8th
  return (bytes) => {
    since += bytes;
    if (since < everyBytes) return;
    since = 0;
    collector()?.({ type: ++minors % 8 === 0 ? 'major' : 'minor' });
  };
}

/** Caps V8's young generation (default 16 MiB semi-spaces, which fill with short-lived stream objects). */
export function smallYoungGeneration(): void {
  try {
    setFlagsFromString('--max-semi-space-size=1');
  } catch {
    /* not fatal */
  }
}
