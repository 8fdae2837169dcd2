// Labels and names shared by the workspace builders.
import { dnsLabel } from './dns-label.ts';

export const LABEL_PREFIX = 'cedille.etsmtl.ca';
export const LABEL_COURSE = `${LABEL_PREFIX}/course`;
export const LABEL_STUDENT = `${LABEL_PREFIX}/student`;
export const LABEL_TERM = `${LABEL_PREFIX}/term`;
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'cedille-workflows' } as const;

export interface Owner {
  course: string;
  student: string;
  term: string;
}

/** course/student/term labels (values made label-safe with dnsLabel) plus managed-by. */
export function ownerLabels(o: Owner): Record<string, string> {
  return { [LABEL_COURSE]: dnsLabel(o.course), [LABEL_STUDENT]: dnsLabel(o.student), [LABEL_TERM]: dnsLabel(o.term), ...MANAGED_BY };
}

/** The namespace of a student's workspace in a course. */
export function workspaceNamespace(course: string, student: string): string {
  return dnsLabel(course, student);
}
