// Every `patched()` of the workflow code names an id of workflows/interpreter/patches.ts, so that
// runs ask for it at their start (see that file for the replay failure this prevents).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const WORKFLOWS = fileURLToPath(new URL('../../workflows/', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

test('every patched() call names an id asked for at run start', () => {
  const stray: string[] = [];
  for (const file of sources(WORKFLOWS)) {
    if (file.endsWith('interpreter/patches.ts')) continue;
    for (const m of readFileSync(file, 'utf8').matchAll(/\b(?:patched|deprecatePatch)\(([^)]*)\)/g)) {
      if (!/^PATCH\.\w+$/.test(m[1]!.trim())) stray.push(`${file.slice(WORKFLOWS.length)}: ${m[0]}`);
    }
  }
  assert.deepEqual(stray, []);
});
