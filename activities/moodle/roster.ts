// The students of a course (optionally one group), from Moodle's `core_enrol_get_enrolled_users`,
// page by page. Moodle's answer is not a student list: it holds every enrolment (teachers too) and
// carries no enrolment status, so two passes are made with Moodle's own filters:
//   `onlyactive=1`    the active enrolments; each user's `roles[].shortname` (course context) decides:
//                     one of `roles` (default `student`) is a student, anyone else is skipped;
//   `onlysuspended=1` the suspended enrolments (Moodle >= 3.11), all skipped; a user in both answers
//                     (an inconsistent site) counts as suspended: no workspace on doubt.
// Every skipped enrolment is reported with its reason. The site and its token are the worker's
// configuration (_config.ts), never the input's: an input may only repeat the configured site.
import { z } from 'zod';
import { ApplicationFailure } from '@temporalio/common';
import { defineActivity } from '../define.ts';
import { moodleCall } from './_client.ts';
import { checkRequestedSite, moodleSite, moodleToken } from './_config.ts';

const EnrolledUser = z.looseObject({
  id: z.number(),
  username: z.string().optional(),
  firstname: z.string().optional(),
  lastname: z.string().optional(),
  fullname: z.string().optional(),
  email: z.string().optional(),
  idnumber: z.string().optional(),
  roles: z.array(z.looseObject({ roleid: z.number().optional(), shortname: z.string() })).optional(),
});
type EnrolledUser = z.infer<typeof EnrolledUser>;

export const RosterStudent = z.object({
  id: z.string(),
  username: z.string().optional(),
  firstName: z.string().optional(),
  lastName: z.string().optional(),
  email: z.string().optional(),
});

export const SkippedEnrolment = z.object({
  id: z.string(),
  username: z.string().optional(),
  name: z.string().optional(),
  reason: z.enum(['suspended', 'not-a-student']),
  roles: z.array(z.string()),
  message: z.string(),
});
type SkippedEnrolment = z.infer<typeof SkippedEnrolment>;

// Moodle role shortnames are PARAM_ALPHANUMEXT.
const RoleShortname = z.string().regex(/^[A-Za-z0-9_-]{1,100}$/, 'a Moodle role shortname such as student');

const USER_FIELDS = 'id,username,firstname,lastname,email,idnumber,roles';

export default defineActivity({
  name: 'moodle.roster',
  description: "The students of a Moodle course (or one of its groups), through core_enrol_get_enrolled_users; suspended and non-student enrolments are skipped and reported.",
  input: z.strictObject({
    url: z.string().max(2048).default('').describe("Moodle site root; only the worker's own site (CEDILLE_MOODLE_URL) is accepted. Empty: the worker's site"),
    courseId: z.int().positive(),
    groupId: z.int().min(0).default(0).describe('A group of the course; 0: every student of the course'),
    roles: z.array(RoleShortname).min(1).max(20).default(['student']).describe('Role shortnames that make an enrolment a student'),
    pageSize: z.int().min(1).max(1000).default(200),
  }),
  output: z.object({
    students: z.array(RosterStudent),
    skipped: z.array(SkippedEnrolment),
    /** Enrolments seen, active and suspended. */
    enrolments: z.int(),
    pages: z.int(),
  }),
  async handler({ url, courseId, groupId, roles, pageSize }, ctx) {
    // Site and token come from the worker's configuration; the input is checked before any request.
    const site = moodleSite();
    checkRequestedSite('url', url, site);
    const token = await moodleToken(process.env, ctx.signal);
    let pages = 0;
    const fetchAll = async (filter: 'onlyactive' | 'onlysuspended'): Promise<EnrolledUser[]> => {
      const users: EnrolledUser[] = [];
      for (let from = 0; ; from += pageSize) {
        const options = [
          { name: filter, value: 1 },
          { name: 'userfields', value: USER_FIELDS },
          { name: 'limitfrom', value: from },
          { name: 'limitnumber', value: pageSize },
          ...(groupId ? [{ name: 'groupid', value: groupId }] : []),
        ];
        const page = z.array(EnrolledUser).parse(await moodleCall<unknown>({ url: site, token, signal: ctx.signal }, 'core_enrol_get_enrolled_users', { courseid: courseId, options }));
        pages++;
        users.push(...page);
        ctx.heartbeat({ pages, users: users.length });
        if (page.length < pageSize) return users;
      }
    };
    const active = await fetchAll('onlyactive');
    const suspended = await fetchAll('onlysuspended');
    return { ...sortEnrolments(active, suspended, roles), enrolments: new Set([...active, ...suspended].map((u) => u.id)).size, pages };
  },
});

const shortnames = (u: EnrolledUser) => (u.roles ?? []).map((r) => r.shortname);
const nameOf = (u: EnrolledUser) => u.fullname || [u.firstname, u.lastname].filter(Boolean).join(' ') || undefined;

function skip(u: EnrolledUser, reason: SkippedEnrolment['reason'], message: string): SkippedEnrolment {
  const name = nameOf(u);
  return { id: String(u.id), ...(u.username ? { username: u.username } : {}), ...(name ? { name } : {}), reason, roles: shortnames(u), message };
}

/** Students among the active enrolments; the rest, and every suspended enrolment, skipped with the reason. */
export function sortEnrolments(active: EnrolledUser[], suspended: EnrolledUser[], roles: string[]): { students: z.infer<typeof RosterStudent>[]; skipped: SkippedEnrolment[] } {
  const students: z.infer<typeof RosterStudent>[] = [];
  const skipped: SkippedEnrolment[] = [];
  const suspendedIds = new Set<number>();
  for (const u of suspended) {
    if (suspendedIds.has(u.id)) continue;
    suspendedIds.add(u.id);
    skipped.push(skip(u, 'suspended', 'enrolment suspended in Moodle'));
  }
  const seen = new Set<number>();
  for (const u of active) {
    if (suspendedIds.has(u.id) || seen.has(u.id)) continue;
    seen.add(u.id);
    if (!u.roles) {
      // Without roles a teacher cannot be told from a student: refuse rather than guess.
      throw ApplicationFailure.nonRetryable(`Moodle core_enrol_get_enrolled_users: user ${u.id} has no roles in the answer (userfields=${USER_FIELDS}); the roster cannot tell students from teachers`, 'MoodleError');
    }
    const has = shortnames(u);
    if (!has.some((r) => roles.includes(r))) {
      skipped.push(skip(u, 'not-a-student', has.length ? `role ${has.join(', ')} in the course, not ${roles.join(' or ')}` : `no role in the course (expected ${roles.join(' or ')})`));
      continue;
    }
    students.push({
      id: String(u.id),
      ...(u.username ? { username: u.username } : {}),
      ...(u.firstname ? { firstName: u.firstname } : {}),
      ...(u.lastname ? { lastName: u.lastname } : {}),
      ...(u.email ? { email: u.email } : {}),
    });
  }
  return { students, skipped };
}
