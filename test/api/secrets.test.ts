// Link secrets (issue 12): the HMAC key of approval links and codec sessions must hold at least 32
// bytes, or the API and the worker refuse to start, naming the variable or file it came from.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiConfigFromEnv } from '../../api/config.ts';
import { loadNotifyConfig } from '../../activities/notify/config.ts';

const scratch = () => mkdtempSync(join(tmpdir(), 'cedille-secrets-'));
const SHORT = 'x'.repeat(31);
const LONG = 'y'.repeat(32);

describe('link secret strength', () => {
  it('the API refuses an inline CEDILLE_LINK_SECRET under 32 bytes, naming it', () => {
    for (const value of [SHORT, 'secret', 'é'.repeat(15)]) {
      assert.throws(() => apiConfigFromEnv({ CEDILLE_DATA_DIR: scratch(), CEDILLE_LINK_SECRET: value }), /CEDILLE_LINK_SECRET is \d+ bytes; at least 32 are required/, value);
    }
    assert.equal(apiConfigFromEnv({ CEDILLE_DATA_DIR: scratch(), CEDILLE_LINK_SECRET: LONG }).linkSecret, LONG);
  });

  it('the API refuses an empty or short link-secret file in its data dir, naming the file', () => {
    for (const content of ['', '\n', `${SHORT}\n`]) {
      const dir = scratch();
      writeFileSync(join(dir, 'link-secret'), content);
      assert.throws(() => apiConfigFromEnv({ CEDILLE_DATA_DIR: dir }), (err: Error) => err.message.startsWith(`link secret file ${join(dir, 'link-secret')} is`), JSON.stringify(content));
    }
  });

  it('the API generates a 32-byte secret when there is none, and keeps it', () => {
    const dir = scratch();
    const first = apiConfigFromEnv({ CEDILLE_DATA_DIR: dir }).linkSecret;
    assert.equal(Buffer.from(first, 'base64url').length, 32);
    assert.equal(apiConfigFromEnv({ CEDILLE_DATA_DIR: dir }).linkSecret, first);
  });

  it('with a shared database (DATABASE_URL) the secret must be configured: none is generated per replica', () => {
    const dir = scratch();
    assert.throws(() => apiConfigFromEnv({ CEDILLE_DATA_DIR: dir, DATABASE_URL: 'postgres://db.example/cedille' }), /DATABASE_URL is set .* CEDILLE_LINK_SECRET is not/);
    assert.equal(existsSync(join(dir, 'link-secret')), false, 'no link-secret file was made');
    const key = randomBytes(32).toString('base64url');
    assert.equal(apiConfigFromEnv({ CEDILLE_DATA_DIR: dir, DATABASE_URL: 'postgres://db.example/cedille', CEDILLE_LINK_SECRET: key }).linkSecret, key);
  });

  it("the worker's notify config refuses short secrets from the environment, the file, or a secret file", () => {
    const dir = scratch();
    const config = (body: object) => {
      const file = join(dir, `notify-${Math.random().toString(36).slice(2)}.json`);
      writeFileSync(file, JSON.stringify({ directory: [], ...body }));
      return file;
    };
    const plain = config({});
    assert.throws(() => loadNotifyConfig({ CEDILLE_NOTIFY_CONFIG: plain, CEDILLE_DATA_DIR: dir, CEDILLE_LINK_SECRET: SHORT }), /CEDILLE_LINK_SECRET is 31 bytes/);
    assert.throws(() => loadNotifyConfig({ CEDILLE_NOTIFY_CONFIG: config({ linkSecret: SHORT }), CEDILLE_DATA_DIR: dir }), /linkSecret: must be at least 32 bytes/);
    const secretFile = join(dir, 'link-secret-file');
    writeFileSync(secretFile, `${SHORT}\n`);
    assert.throws(() => loadNotifyConfig({ CEDILLE_NOTIFY_CONFIG: config({ linkSecretFile: secretFile }), CEDILLE_DATA_DIR: dir }), new RegExp(`linkSecretFile ${secretFile} is 31 bytes`));
    writeFileSync(join(dir, 'link-secret'), SHORT);
    assert.throws(() => loadNotifyConfig({ CEDILLE_NOTIFY_CONFIG: plain, CEDILLE_DATA_DIR: dir }), /link secret file .*link-secret is 31 bytes/);
    assert.equal(loadNotifyConfig({ CEDILLE_NOTIFY_CONFIG: plain, CEDILLE_DATA_DIR: dir, CEDILLE_LINK_SECRET: LONG })?.link.secret, LONG);
  });
});
