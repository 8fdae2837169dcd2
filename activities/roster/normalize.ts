// A class roster, from an uploaded CSV or from Moodle, checked before anything is provisioned:
// every row is either accepted (trimmed, Unicode-normalised, e-mail lower-cased) or rejected with
// the row and the field that is wrong. Ids and usernames must follow the identifier rule
// (identifier.ts): they name the student's namespace. Duplicates (same id, e-mail or namespace) keep
// their first occurrence. An empty class is an error, never a run that provisions nothing and says nothing.
import { z } from 'zod';
import { parse } from 'csv-parse/sync';
import { ApplicationFailure } from '@temporalio/common';
import { defineActivity } from '../define.ts';
import { RosterStudent } from '../moodle/roster.ts';
import { Identifier, identifierProblem } from './identifier.ts';

export const MAX_ROSTER = 20_000;

export const Student = z.object({
  id: Identifier,
  name: z.string(),
  email: z.string(),
  username: Identifier.optional(),
});
export type Student = z.infer<typeof Student>;

export const RosterProblem = z.object({ row: z.int(), field: z.string(), message: z.string() });
type RosterProblem = z.infer<typeof RosterProblem>;

// Column names accepted in a CSV header (English and French), case- and accent-insensitive.
const COLUMNS: Record<keyof z.infer<typeof RosterStudent>, string[]> = {
  id: ['id', 'code', 'matricule', 'student id', 'code permanent'],
  username: ['username', 'login', 'code universel', 'utilisateur'],
  firstName: ['first name', 'firstname', 'prenom', 'given name'],
  lastName: ['last name', 'lastname', 'nom', 'nom de famille', 'family name'],
  email: ['email', 'e-mail', 'courriel', 'adresse courriel', 'mail'],
};

const fold = (s: string) => s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().replace(/[_\s]+/g, ' ').trim();
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
// Control characters and the Unicode replacement character (a file read with the wrong encoding).
const BAD_CHARS = /[\p{Cc}\uFFFD]/u;
/** A value quoted for a message, cut short: a hostile value must not make the report huge. */
const quoted = (value: string) => `'${value.length > 40 ? `${value.slice(0, 40)}…` : value}'`;

function fromCsv(csv: string): z.infer<typeof RosterStudent>[] {
  let records: string[][];
  try {
    records = parse(csv, { bom: true, skip_empty_lines: true, relax_column_count: true, delimiter: [',', ';', '\t'] });
  } catch (err) {
    throw ApplicationFailure.nonRetryable(`the roster is not valid CSV: ${(err as Error).message}`, 'InvalidRoster');
  }
  const [header, ...data] = records;
  if (!header) return [];
  const index = Object.fromEntries(
    Object.entries(COLUMNS).map(([field, names]) => [field, header.findIndex((h) => names.includes(fold(h)))]),
  ) as Record<keyof typeof COLUMNS, number>;
  if (index.email < 0) throw ApplicationFailure.nonRetryable(`the roster has no e-mail column (header: ${header.join(', ')}); expected one of: ${COLUMNS.email.join(', ')}`, 'InvalidRoster');
  const cell = (r: string[], field: keyof typeof COLUMNS) => (index[field] >= 0 ? r[index[field]]?.trim() || undefined : undefined);
  return data.map((r) => ({
    id: cell(r, 'id') ?? '',
    ...(cell(r, 'username') ? { username: cell(r, 'username') } : {}),
    ...(cell(r, 'firstName') ? { firstName: cell(r, 'firstName') } : {}),
    ...(cell(r, 'lastName') ? { lastName: cell(r, 'lastName') } : {}),
    ...(cell(r, 'email') ? { email: cell(r, 'email') } : {}),
  }));
}

/** Checks rows (numbered from 1, the header of a CSV being row 1 so data starts at 2). */
export function checkRoster(rows: z.infer<typeof RosterStudent>[], firstRow: number): { students: Student[]; problems: RosterProblem[] } {
  const students: Student[] = [];
  const problems: RosterProblem[] = [];
  const seen = new Map<string, number>();
  rows.forEach((raw, i) => {
    const row = firstRow + i;
    const fields = { ...raw, email: raw.email?.normalize('NFC').trim().toLowerCase() };
    for (const [field, value] of Object.entries(fields)) {
      if (typeof value === 'string' && BAD_CHARS.test(value)) {
        problems.push({ row, field, message: 'contains control or unreadable characters (check the file encoding: UTF-8 expected)' });
        return;
      }
    }
    if (!fields.email) return void problems.push({ row, field: 'email', message: 'missing e-mail' });
    if (fields.email.length > 254) return void problems.push({ row, field: 'email', message: `${quoted(fields.email)} is ${fields.email.length} characters long; an e-mail address has at most 254` });
    if (!EMAIL.test(fields.email)) return void problems.push({ row, field: 'email', message: `'${fields.email}' is not an e-mail address` });
    const username = raw.username?.normalize('NFC').trim() || undefined;
    const idField = raw.id ? 'id' : username ? 'username' : 'email';
    const id = (raw.id || username || fields.email.split('@')[0]!).normalize('NFC').trim();
    if (username) {
      const problem = identifierProblem(username);
      if (problem) return void problems.push({ row, field: 'username', message: `${quoted(username)} ${problem}` });
    }
    const idProblem = identifierProblem(id);
    if (idProblem) {
      const what = idField === 'email' ? `the e-mail's local part ${quoted(id)} (the student's id when there is neither id nor username)` : quoted(id);
      return void problems.push({ row, field: idField, message: `${what} ${idProblem}` });
    }
    // The namespace is named after the username, else the id (workspaces/_params.ts studentKey).
    const keys: [string, string][] = [[`id:${id.toLowerCase()}`, 'id'], [`email:${fields.email}`, 'email'], [`ns:${(username ?? id).toLowerCase()}`, username ? 'username' : 'id']];
    for (const [key, field] of keys) {
      const first = seen.get(key);
      if (first !== undefined) return void problems.push({ row, field, message: `duplicate of row ${first}` });
    }
    for (const [key] of keys) seen.set(key, row);
    const name = [raw.firstName, raw.lastName].filter(Boolean).join(' ').normalize('NFC').trim() || raw.username || id;
    students.push({ id, name, email: fields.email, ...(username ? { username } : {}) });
  });
  return { students, problems };
}

export default defineActivity({
  name: 'roster.normalize',
  description: 'Checks a class roster (uploaded CSV or Moodle students): accepted students, and one problem per rejected row naming the field.',
  input: z
    .strictObject({
      csv: z.string().max(5_000_000).optional().describe('CSV text with a header row (email required; id, username, first/last name optional)'),
      students: z.array(RosterStudent).max(MAX_ROSTER).optional().describe('Students from moodle.roster'),
    })
    .refine((i) => (i.csv === undefined) !== (i.students === undefined), 'give exactly one of csv or students'),
  output: z.object({ students: z.array(Student), problems: z.array(RosterProblem), total: z.int(), accepted: z.int(), rejected: z.int() }),
  async handler({ csv, students }) {
    const rows = csv !== undefined ? fromCsv(csv) : students!;
    if (rows.length > MAX_ROSTER) throw ApplicationFailure.nonRetryable(`the roster has ${rows.length} rows; at most ${MAX_ROSTER}`, 'InvalidRoster');
    const checked = checkRoster(rows, csv !== undefined ? 2 : 1);
    if (!checked.students.length) {
      const why = rows.length ? `none of its ${rows.length} rows is usable (first problem: row ${checked.problems[0]?.row} ${checked.problems[0]?.field}: ${checked.problems[0]?.message})` : 'it has no students';
      throw ApplicationFailure.nonRetryable(`empty class: ${why}`, 'EmptyRoster', { problems: checked.problems.slice(0, 100) });
    }
    return { ...checked, total: rows.length, accepted: checked.students.length, rejected: checked.problems.length };
  },
});
