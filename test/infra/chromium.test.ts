import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureChromium } from '../../infra/tools/chromium.ts';

function fakeBinary(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'cedille-chromium-'));
  const file = join(dir, name);
  writeFileSync(file, '#!/bin/sh\n');
  chmodSync(file, 0o755);
  return file;
}

describe('ensureChromium', () => {
  it('CHROMIUM_PATH wins over PATH', async () => {
    const explicit = fakeBinary('my-chromium');
    const onPath = fakeBinary('chromium');
    assert.equal(await ensureChromium({ CHROMIUM_PATH: explicit, PATH: join(onPath, '..') }), explicit);
  });

  it('a CHROMIUM_PATH that does not exist is an error, not a fallback', async () => {
    await assert.rejects(ensureChromium({ CHROMIUM_PATH: '/no/such/chromium', PATH: '' }), /CHROMIUM_PATH=.*does not exist/);
  });

  it('finds chromium on PATH', async () => {
    const onPath = fakeBinary('chromium');
    assert.equal(await ensureChromium({ PATH: join(onPath, '..') }), onPath);
  });
});
