// The codec's keys: AES-256 keys with short ids. The current key encrypts; every key decrypts, so
// histories written under a retired key still read after rotation (add a key in front, keep the
// old ones until no history written with them is kept).
//
// CEDILLE_CODEC_KEYS is either the path of a keys file or the keys inline:
//   - inline: `id:base64,id:base64` (the first is current);
//   - a file holding that same form (one `id:base64` per line also works), or JSON
//     `{ "current": "2026-11", "keys": { "2026-11": "<base64>", "2026-09": "<base64>" } }`;
//   - `off`: no encryption (as when unset; `npm start` would otherwise generate a dev key).
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../infra/tools/atomic-file.ts';

export interface CodecKey {
  id: string;
  /** 32 bytes (AES-256). */
  key: Buffer;
}

export interface Keyring {
  /** The key new payloads are encrypted with. */
  current: CodecKey;
  /** Every key that decrypts, by id (current included). */
  keys: ReadonlyMap<string, CodecKey>;
}

const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

function key(id: string, base64: string, where: string): CodecKey {
  if (!KEY_ID.test(id)) throw new Error(`${where}: key id "${id}" must be 1-64 characters of [A-Za-z0-9._-]`);
  const bytes = Buffer.from(base64.trim(), 'base64');
  if (bytes.length !== 32) throw new Error(`${where}: key ${id} is ${bytes.length} bytes, AES-256 needs 32 (base64 of 32 random bytes)`);
  return { id, key: bytes };
}

/** A keyring from keys, the first (or `currentId`) current. */
export function keyring(keys: CodecKey[], currentId?: string, where = 'codec keys'): Keyring {
  if (!keys.length) throw new Error(`${where}: no key`);
  const byId = new Map<string, CodecKey>();
  for (const k of keys) {
    if (byId.has(k.id)) throw new Error(`${where}: duplicate key id ${k.id}`);
    byId.set(k.id, k);
  }
  const current = currentId === undefined ? keys[0]! : byId.get(currentId);
  if (!current) throw new Error(`${where}: current key ${currentId} is not among the keys (${[...byId.keys()].join(', ')})`);
  return { current, keys: byId };
}

/** Parses the inline form, a keys file's text or its JSON form. */
export function parseKeys(text: string, where = 'codec keys'): Keyring {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let json: { current?: unknown; keys?: unknown };
    try {
      json = JSON.parse(trimmed) as typeof json;
    } catch (err) {
      throw new Error(`${where}: not JSON: ${(err as Error).message}`, { cause: err });
    }
    if (!json.keys || typeof json.keys !== 'object') throw new Error(`${where}: expected { "current": "<id>", "keys": { "<id>": "<base64>" } }`);
    const keys = Object.entries(json.keys as Record<string, unknown>).map(([id, b64]) => key(id, String(b64), where));
    return keyring(keys, typeof json.current === 'string' ? json.current : undefined, where);
  }
  const entries = trimmed.split(/[\s,]+/).filter(Boolean);
  return keyring(
    entries.map((entry) => {
      const sep = entry.indexOf(':');
      if (sep <= 0) throw new Error(`${where}: "${entry.slice(0, 12)}…" is not id:base64`);
      return key(entry.slice(0, sep), entry.slice(sep + 1), where);
    }),
    undefined,
    where,
  );
}

/** Whether CEDILLE_CODEC_KEYS explicitly turns encryption off. */
export function codecDisabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return /^(off|none|false|0)$/i.test(env.CEDILLE_CODEC_KEYS?.trim() ?? '');
}

/** The keyring of CEDILLE_CODEC_KEYS (a file path or inline keys); undefined when unset or `off` (no encryption). */
export function keyringFromEnv(env: NodeJS.ProcessEnv = process.env): Keyring | undefined {
  const spec = env.CEDILLE_CODEC_KEYS?.trim();
  if (!spec || codecDisabled(env)) return undefined;
  // A path: absolute, relative, or anything that exists as a file; inline keys always hold a ':'.
  if (spec.startsWith('/') || spec.startsWith('.') || !spec.includes(':') || existsSync(spec)) {
    let text: string;
    try {
      text = readFileSync(spec, 'utf8');
    } catch (err) {
      throw new Error(`CEDILLE_CODEC_KEYS: cannot read ${spec}: ${(err as Error).message}`, { cause: err });
    }
    return parseKeys(text, `CEDILLE_CODEC_KEYS file ${spec}`);
  }
  return parseKeys(spec, 'CEDILLE_CODEC_KEYS');
}

/** A new random key. Ids default to a sortable UTC stamp, e.g. `k20261121T204400Z`. */
export function generateKey(id = `k${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '')}`): CodecKey {
  return { id, key: randomBytes(32) };
}

/** The `id:base64` lines of a keys file (current first). */
export function formatKeys(ring: Keyring): string {
  const rest = [...ring.keys.values()].filter((k) => k.id !== ring.current.id);
  return `${[ring.current, ...rest].map((k) => `${k.id}:${k.key.toString('base64')}`).join('\n')}\n`;
}

/**
 * Reads the keys file at `path`, creating it (mode 0600) with one new key when it does not exist.
 * Created whole or not at all (a crash never leaves an empty keys file); a process creating it at
 * the same moment wins and its key is used.
 */
export function ensureKeyFile(path: string): Keyring {
  if (!existsSync(path)) {
    try {
      writeFileAtomic(path, formatKeys(keyring([generateKey()])), { exclusive: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  return parseKeys(readFileSync(path, 'utf8'), `keys file ${path}`);
}

/**
 * Rotation: puts a new key in front of the file's keys (it encrypts from now on) and keeps the others.
 * The file is replaced atomically: a crash mid-rotation leaves the old keys, never a truncated file.
 */
export function rotateKeyFile(path: string, id?: string): Keyring {
  const old = parseKeys(readFileSync(path, 'utf8'), `keys file ${path}`);
  const next = generateKey(id);
  const ring = keyring([next, ...old.keys.values()], next.id, `keys file ${path}`);
  writeFileAtomic(path, formatKeys(ring));
  return ring;
}
