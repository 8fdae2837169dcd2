import assert from 'node:assert/strict';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { devTokensFile, loadDevTokens } from '../../api/dev-tokens.ts';

describe('dev tokens', () => {
  it('are created once per data dir, private, and stable across loads', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'cedille-data-')), 'nested');
    const first = loadDevTokens(dir);
    assert.match(first.admin, /^cedille_admin_[\w-]{32}$/);
    assert.match(first.approver, /^cedille_approver_[\w-]{32}$/);
    assert.equal(statSync(devTokensFile(dir)).mode & 0o777, 0o600);
    assert.deepEqual(loadDevTokens(dir), first);
  });

  it('differ between data dirs', () => {
    const a = loadDevTokens(mkdtempSync(join(tmpdir(), 'cedille-data-')));
    const b = loadDevTokens(mkdtempSync(join(tmpdir(), 'cedille-data-')));
    assert.notEqual(a.admin, b.admin);
  });

  it('a damaged file is an error naming the file, never silently replaced', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cedille-data-'));
    writeFileSync(devTokensFile(dir), '{"admin":"short"}');
    assert.throws(() => loadDevTokens(dir), (err: Error) => err.message.startsWith(devTokensFile(dir)));
  });
});
