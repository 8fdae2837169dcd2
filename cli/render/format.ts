// Small text helpers: times, durations, relative `--since` values.
import { UsageError } from '../errors.ts';

/** `2025-03-01 14:03:07Z`; empty for no time. */
export function time(iso: string | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

/** `850ms`, `12.3s`, `4m05s`, `2h03m`, `3d04h`. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const pad = (n: number) => String(n).padStart(2, '0');
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${pad(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${pad(Math.floor(s / 60) % 60)}m`;
  return `${Math.floor(s / 86_400)}d${pad(Math.floor(s / 3600) % 24)}h`;
}

/** Duration between two times; until now when `end` is missing. */
export function between(start: string | undefined, end: string | undefined, now = Date.now()): string {
  if (!start) return '';
  const a = Date.parse(start);
  const b = end ? Date.parse(end) : now;
  return Number.isNaN(a) || Number.isNaN(b) ? '' : duration(b - a);
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `--since`: an RFC 3339 time, or an age such as `30m`, `6h`, `2d` (that long ago). */
export function since(value: string | undefined, now = Date.now()): string | undefined {
  if (!value) return undefined;
  const age = value.match(/^(\d+)([smhdw])$/);
  if (age) return new Date(now - Number(age[1]) * UNITS[age[2]!]!).toISOString();
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new UsageError(`--since: expected a time (2025-03-01T12:00:00Z) or an age (30m, 6h, 2d), got "${value}"`);
  return d.toISOString();
}

/** `512 B`, `1.5 KiB`, `3.2 GiB`. */
export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i ? v.toFixed(1) : v} ${units[i]}`;
}

/**
 * `text` on one line, for line-oriented output (watch transitions, table cells): line breaks and runs of
 * whitespace become single spaces (a break between two sentences a `; `), cut at `max` characters.
 */
export function oneLine(text: string, max = 300): string {
  const flat = text
    // eslint-disable-next-line no-control-regex -- terminal control characters (escape sequences) are dropped
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '')
    .split(/\r?\n|\r/)
    .map((l) => l.trim())
    .filter(Boolean)
    .reduce((acc, l) => (!acc ? l : /[.;:,]$/.test(acc) ? `${acc} ${l}` : `${acc}; ${l}`), '')
    .replace(/\s+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
