// The inputs that describe a class and its workspaces, shared by the workspace activities.
import { z } from 'zod';
import { dnsLabel, LABEL_COURSE, LABEL_TERM } from '../kubernetes/builders/index.ts';
import { Student } from '../roster/normalize.ts';

export const Course = z.strictObject({
  code: z.string().min(1).max(40).describe('Course code, e.g. LOG680'),
  term: z.string().min(1).max(20).describe('Term, e.g. A2026'),
  section: z.string().max(20).optional().describe('Group or lab section'),
});
export type Course = z.infer<typeof Course>;

const quantity = z.string().regex(/^\d+(\.\d+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/, 'a Kubernetes quantity such as 500m, 2Gi');

export const Profile = z.strictObject({
  image: z.string().min(1).describe('Workspace image: code-server, Jupyter, Theia ...'),
  port: z.int().min(1).max(65535).default(8080),
  cpu: z.strictObject({ request: quantity.default('250m'), limit: quantity.default('1') }).default({ request: '250m', limit: '1' }),
  memory: z.strictObject({ request: quantity.default('512Mi'), limit: quantity.default('2Gi') }).default({ request: '512Mi', limit: '2Gi' }),
  storage: quantity.default('5Gi'),
  storageClass: z.string().default('mayastor'),
  readinessPath: z.string().optional(),
  mountPath: z.string().optional(),
});
export type Profile = z.infer<typeof Profile>;

export { Student };

// Course codes, terms and student ids are case-insensitive at ÉTS (LOG680 = log680; the roster check
// already treats ids so): lower-casing them keeps names and labels readable (dnsLabel would otherwise
// add a hash to keep the case information).

/** The course as workspace labels see it: code plus section (a section is its own class). */
export function courseKey(c: Course): string {
  return (c.section ? `${c.code}-${c.section}` : c.code).toLowerCase();
}

export function termKey(c: Course): string {
  return c.term.toLowerCase();
}

/** The student part of the namespace name: the username when there is one, else the id. */
export function studentKey(s: z.infer<typeof Student>): string {
  return (s.username || s.id).toLowerCase();
}

/** Label selector of every workspace namespace of a class. */
export function classSelector(c: Course): string {
  return `${LABEL_COURSE}=${dnsLabel(courseKey(c))},${LABEL_TERM}=${dnsLabel(termKey(c))}`;
}

/** Annotation keeping the roster id of a namespace's student (labels are DNS-safe, ids may not be). */
export const STUDENT_ID_ANNOTATION = 'cedille.etsmtl.ca/student-id';
