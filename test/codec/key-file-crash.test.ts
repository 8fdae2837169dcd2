// Key files survive a crash while being written (issue 12): rotation writes a temporary file,
// fsyncs it and renames it over the old one, so a write cut short (here by a file size limit)
// leaves every old key in place instead of a truncated file.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatKeys, generateKey, keyring, parseKeys } from '../../codec/index.ts';
import { repoFile, runWithFileSizeLimit } from '../support/file-size-limit.ts';

const keyringModule = repoFile('codec/keyring.ts');

describe('key files and crashes', () => {
  it('a rotation cut short keeps every old key (the file is replaced, never rewritten in place)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cedille-keys-'));
    const file = join(dir, 'codec-keys');
    // 12 keys (~700 bytes): more than the 512 bytes the rotating process may write.
    const old = keyring(Array.from({ length: 12 }, (_, i) => generateKey(`old-${i}`)));
    writeFileSync(file, formatKeys(old), { mode: 0o600 });
    const before = readFileSync(file, 'utf8');
    const crashed = runWithFileSizeLimit(`import { rotateKeyFile } from ${JSON.stringify(keyringModule)}; rotateKeyFile(${JSON.stringify(file)}, 'new');`, 1);
    assert.notEqual(crashed.status, 0, 'the rotation must fail under the size limit');
    assert.match(crashed.stderr, /EFBIG/);
    assert.equal(readFileSync(file, 'utf8'), before, 'the keys file is untouched');
    assert.deepEqual([...parseKeys(readFileSync(file, 'utf8')).keys.keys()], [...old.keys.keys()]);
    assert.deepEqual(readdirSync(dir), ['codec-keys'], 'no temporary file left behind');
  });

  it('a key file creation cut short leaves no file, and the next start creates a whole one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cedille-keys-'));
    const file = join(dir, 'codec-keys');
    // Block size 0: not a single byte may be written.
    const crashed = runWithFileSizeLimit(`import { ensureKeyFile } from ${JSON.stringify(keyringModule)}; ensureKeyFile(${JSON.stringify(file)});`, 0);
    assert.notEqual(crashed.status, 0);
    assert.equal(existsSync(file), false, 'no empty keys file');
    const ok = runWithFileSizeLimit(`import { ensureKeyFile } from ${JSON.stringify(keyringModule)}; ensureKeyFile(${JSON.stringify(file)});`, 64);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(parseKeys(readFileSync(file, 'utf8')).keys.size, 1);
    assert.equal(statSync(file).mode & 0o777, 0o600);
  });
});
