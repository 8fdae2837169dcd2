// DNS-1123 labels (namespace names, label values) from free text such as a course code and a
// student's name or id: accents stripped, lowercased, other characters turned into dashes.
// Collision-free: when the readable form loses information (accents, case, invalid characters,
// truncation past 63 characters, a dash inside any part but the first), a stable hash of the exact
// input is appended after a double dash, which a readable form never contains.
import { createHash } from 'node:crypto';

export const DNS_LABEL_MAX = 63;
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const HASH_LENGTH = 10;

export function isDnsLabel(s: string): boolean {
  return s.length <= DNS_LABEL_MAX && LABEL.test(s);
}

/** Lowercase ASCII letters, digits and single dashes, trimmed of dashes (may be empty). */
export function sanitize(text: string): string {
  return text
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/** 10 base-36 characters of the SHA-256 of the parts (about 51 bits). */
export function shortHash(parts: readonly string[]): string {
  const digest = createHash('sha256').update(JSON.stringify(parts)).digest();
  return digest.readBigUInt64BE(0).toString(36).padStart(13, '0').slice(-HASH_LENGTH);
}

/**
 * A DNS-1123 label from the parts, joined with dashes: `dnsLabel('LOG100-01', 'Élise Côté')` is
 * `log100-01-elise-cote--<hash>` (the accents made the readable form lossy), `dnsLabel('log100', 'ecote')`
 * is `log100-ecote`. Deterministic; distinct inputs with the same number of parts give distinct labels.
 */
export function dnsLabel(...parts: string[]): string {
  if (parts.length === 0) throw new Error('dnsLabel needs at least one part');
  const cleaned = parts.map(sanitize);
  const readable = cleaned.filter(Boolean).join('-');
  const lossless =
    readable.length <= DNS_LABEL_MAX &&
    cleaned.every((c, i) => c === parts[i] && c.length > 0 && (i === 0 || !c.includes('-')));
  if (lossless) return readable;
  const hash = shortHash(parts);
  const room = DNS_LABEL_MAX - HASH_LENGTH - 2;
  const base = readable.slice(0, room).replace(/-+$/, '') || 'x';
  return `${base}--${hash}`;
}
