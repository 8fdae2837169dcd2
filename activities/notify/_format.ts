// Wording shared by the messages (e-mail, Discord) and the approval page: dates for people, and
// an approval's details (JSON or text) as readable preformatted text.

/** `Friday, March 6, 2026 at 3:04 p.m. (America/Toronto)`; the ISO string if it is not a date. */
export function formatWhen(iso: string, timeZone = 'America/Toronto'): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  try {
    return `${d.toLocaleString('en-CA', { timeZone, dateStyle: 'full', timeStyle: 'short' })} (${timeZone})`;
  } catch {
    return d.toISOString();
  }
}

/** Details as text: JSON (a string holding JSON, or any value) pretty-printed, other text as is. */
export function prettyDetails(details: unknown): string | undefined {
  if (details === undefined || details === null || details === '') return undefined;
  if (typeof details === 'string') {
    try {
      const parsed: unknown = JSON.parse(details);
      if (typeof parsed === 'string') return parsed;
      return JSON.stringify(parsed, null, 2);
    } catch {
      return details;
    }
  }
  return JSON.stringify(details, null, 2);
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
