// The HMAC keys of approval links and codec sessions: anyone who guesses one forges both, so a key
// shorter than 32 bytes (256 bits, SHA-256's own size) is refused at start-up, naming where it came from.
export const MIN_SECRET_BYTES = 32;

/** `value` when it holds at least 32 bytes; otherwise an error naming `source` (a variable or a file). */
export function strongSecret(value: string, source: string): string {
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes < MIN_SECRET_BYTES) {
    throw new Error(`${source} is ${bytes} bytes; at least ${MIN_SECRET_BYTES} are required (generate one with \`openssl rand -base64 32\`)`);
  }
  return value;
}
