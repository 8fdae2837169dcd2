// Constraint C01: published reports carry no personal data. E-mail addresses and the names of known
// people (club members and other people of the club registry, the notification directory) are
// replaced, except those of the responders (who are named on purpose: who did what).
import { loadNotifyConfig } from '../notify/config.ts';
import { loadClubs } from './_clubs.ts';

export interface Redactor {
  (text: string): string;
  /** How many replacements were made so far. */
  count(): number;
}

const EMAIL = /[\p{L}\p{N}._%+-]+@[\p{L}\p{N}.-]+\.[\p{L}]{2,}/gu;

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** People known to the platform: name and e-mail, with the ids they go by (directory ids). */
export function knownPeople(env: NodeJS.ProcessEnv = process.env): { name: string; email?: string | undefined; ids: string[] }[] {
  const clubs = loadClubs(env);
  const people: { name: string; email?: string | undefined; ids: string[] }[] = [
    ...clubs.people.map((p) => ({ ...p, ids: [] })),
    ...clubs.clubs.flatMap((c) => c.members.map((m) => ({ ...m, ids: [] }))),
  ];
  let directory: { id: string; name: string; email?: string | undefined }[] = [];
  try {
    directory = loadNotifyConfig(env)?.directory ?? [];
  } catch {
    // An unreadable notify config is notify.send's error to report; names known elsewhere still apply.
  }
  for (const d of directory) if (!d.id.startsWith('club:')) people.push({ name: d.name, email: d.email, ids: [d.id] });
  return people;
}

/**
 * A redactor keeping the responders (ids, names or e-mail addresses) and replacing every other
 * e-mail address with `[e-mail]` and every other known name with `[person]`.
 */
export function redactor(responders: string[], people = knownPeople()): Redactor {
  const keep = new Set(responders.map((r) => r.toLowerCase()));
  const isResponder = (p: { name: string; email?: string | undefined; ids: string[] }) =>
    keep.has(p.name.toLowerCase()) || (!!p.email && keep.has(p.email.toLowerCase())) || p.ids.some((id) => keep.has(id.toLowerCase()));
  const keptEmails = new Set([...keep, ...people.filter(isResponder).flatMap((p) => (p.email ? [p.email.toLowerCase()] : []))]);
  const names = [...new Set(people.filter((p) => !isResponder(p)).map((p) => p.name.trim()).filter((n) => n.length > 2))]
    .filter((n) => !keep.has(n.toLowerCase()))
    .sort((a, b) => b.length - a.length);
  const namePattern = names.length ? new RegExp(`(?<![\\p{L}\\p{N}])(?:${names.map(escape).join('|')})(?![\\p{L}\\p{N}])`, 'giu') : undefined;
  let n = 0;
  const redact = ((text: string) => {
    let out = text.replace(EMAIL, (m) => (keptEmails.has(m.toLowerCase()) ? m : (n++, '[e-mail]')));
    if (namePattern) out = out.replace(namePattern, () => (n++, '[person]'));
    return out;
  }) as Redactor;
  redact.count = () => n;
  return redact;
}
