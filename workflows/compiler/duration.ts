// Durations of the definition format: `250ms`, `30s`, `1h30m`, `2d` (units concatenated).

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const whole = /^(\d+(ms|s|m|h|d))+$/;
const part = /(\d+)(ms|s|m|h|d)/g;

/** Milliseconds of a duration; throws a RangeError for anything else or beyond a safe integer. */
export function parseDuration(text: string): number {
  if (!whole.test(text)) throw new RangeError(`invalid duration "${text}": expected e.g. 30s, 5m, 1h30m or 2d`);
  let ms = 0;
  for (const [, amount, unit] of text.matchAll(part)) ms += Number(amount) * UNIT_MS[unit!]!;
  if (!Number.isSafeInteger(ms)) throw new RangeError(`duration "${text}" is too large`);
  return ms;
}
