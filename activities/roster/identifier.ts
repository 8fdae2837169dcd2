// The rule for a student's identifiers (roster `id` and `username`, from a CSV or Moodle alike):
// they name the student's namespace, label and annotations, so a value that is not plainly an
// identifier is a rejected row, never something silently hashed into a name.
//
//   1 to 64 characters (after trimming and Unicode NFC normalisation);
//   ASCII letters, digits and the separators . _ - @ only;
//   begins and ends with a letter or a digit;
//   never two separators in a row (no `..`, `.-`, `@.` ...).
//
// ÉTS codes (AB12345), Moodle user ids (1234), usernames (ab12345, prenom.nom) and e-mail-style
// usernames (ab12345@ens.etsmtl.ca) pass; `ak-../../etc`, `a b`, `é12` or 80 characters do not.
import { z } from 'zod';

export const IDENTIFIER_MAX = 64;
const PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9]|[._@-](?=[A-Za-z0-9]))*$/;
const RULE = 'ASCII letters, digits and . _ - @ only, beginning and ending with a letter or digit, never two of . _ - @ in a row';

/** Why `value` is not a usable identifier, or undefined when it is. */
export function identifierProblem(value: string): string | undefined {
  if (value.length === 0) return 'is empty';
  if (value.length > IDENTIFIER_MAX) return `is ${value.length} characters long; at most ${IDENTIFIER_MAX}`;
  if (!PATTERN.test(value)) return `is not an identifier: ${RULE}`;
  return undefined;
}

/** A zod string following the rule (for activity inputs that take an already-checked student). */
export const Identifier = z.string().min(1).max(IDENTIFIER_MAX).regex(PATTERN, RULE);
