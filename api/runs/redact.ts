// Secrets out of what the API shows of a run (its output, its failure message). Definitions carry
// secrets by reference only (activities/_secrets.ts), but an output is whatever a definition's
// expressions or an activity returned: this is the last line before a person's terminal. Two rules:
//  - by name: a field named like a credential (`password`, `token`, `apiKey`, `privateKey`,
//    `clientSecret`, `unsealKeys`, `recoveryKeys`, `authorization`, `cookie`, ...) loses its value,
//    unless that value is a secret reference (`vault:<path>#<field>`, which is not a secret). A
//    `<thing>Secret` field naming a Kubernetes Secret (a DNS name, e.g. vault-bootstrap's `keysSecret`)
//    is a name, not a secret, and is kept.
//  - by shape, inside any string: PEM private keys, JWTs, bearer credentials, Vault and GitHub tokens,
//    passwords in URLs and the tokens of approval links.
import { isSecretRef } from '../../activities/_secrets.ts';

export const REDACTED = '[redacted]';

/** The words of a field name: `clientSecret`, `client_secret`, `client-secret` → client, secret. */
function words(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w.toLowerCase());
}

const SECRET_LAST_WORDS = new Set(['password', 'passwd', 'passphrase', 'pwd', 'token', 'tokens', 'secret', 'secrets', 'credential', 'credentials', 'authorization', 'cookie', 'apikey']);
const SECRET_PAIRS = new Set(['private key', 'api key', 'access key', 'signing key', 'encryption key', 'unseal keys', 'unseal key', 'recovery keys', 'recovery key', 'root token', 'data key']);
const DNS_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

function secretField(key: string, value: unknown): boolean {
  const w = words(key);
  const last = w.at(-1) ?? '';
  const pair = w.slice(-2).join(' ');
  if (!SECRET_LAST_WORDS.has(last) && !SECRET_PAIRS.has(pair)) return false;
  if (isSecretRef(value)) return false;
  // `keysSecret: vault-keys`: the name of a Kubernetes Secret. `secret` alone, `clientSecret`: a value.
  const namesAnObject = (last === 'secret' || last === 'secrets') && w.length > 1 && w.at(-2) !== 'client' && w.at(-2) !== 'shared';
  if (namesAnObject && (typeof value === 'string' ? DNS_NAME.test(value) : Array.isArray(value) && value.every((v) => typeof v === 'string' && DNS_NAME.test(v)))) return false;
  return typeof value === 'string' ? value !== '' : value !== null && typeof value === 'object';
}

const SHAPES: [RegExp, string | ((...m: string[]) => string)][] = [
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g, REDACTED],
  [/\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+/g, REDACTED],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, (_m, scheme) => `${scheme} ${REDACTED}`],
  [/\bhv[sbr]\.[A-Za-z0-9_-]{20,}/g, REDACTED],
  [/\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})/g, REDACTED],
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^\s/:@]+):[^\s/@]+@/gi, (_m, prefix) => `${prefix}:${REDACTED}@`],
  [/(\/approve\/)[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{20,}/g, (_m, path) => `${path}${REDACTED}`],
];

export interface Redaction<T> {
  value: T;
  /** How many values or substrings were replaced. */
  count: number;
}

/** `text` with secret-shaped substrings replaced. */
export function redactText(text: string): Redaction<string> {
  let count = 0;
  let out = text;
  for (const [pattern, replacement] of SHAPES) {
    out = out.replace(pattern, (...args: unknown[]) => {
      count++;
      return typeof replacement === 'string' ? replacement : replacement(...(args.slice(0, -2) as string[]));
    });
  }
  return { value: out, count };
}

/** A JSON value with secret fields and secret-shaped strings replaced by `[redacted]`. */
export function redactValue(value: unknown): Redaction<unknown> {
  let count = 0;
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      const r = redactText(v);
      count += r.count;
      return r.value;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.entries(v).map(([k, x]) => {
          if (secretField(k, x)) {
            count++;
            return [k, REDACTED];
          }
          return [k, walk(x)];
        }),
      );
    }
    return v;
  };
  return { value: walk(value), count };
}
