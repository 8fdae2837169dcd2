// The students of a course (optionally one group), from Moodle's `core_enrol_get_enrolled_users`,
// active enrolments only, page by page. The token is never an input: the worker reads it from the
// environment variable the input names (a reference, like every secret).
import { z } from 'zod';
import { ApplicationFailure } from '@temporalio/common';
import { defineActivity } from '../define.ts';
import { moodleCall } from './_client.ts';
import { resolveSecret, SecretRef } from '../_secrets.ts';

const EnrolledUser = z.looseObject({
  id: z.number(),
  username: z.string().optional(),
  firstname: z.string().optional(),
  lastname: z.string().optional(),
  fullname: z.string().optional(),
  email: z.string().optional(),
  idnumber: z.string().optional(),
});

export const RosterStudent = z.object({
  id: z.string(),
  username: z.string().optional(),
  firstName: z.string().optional(),
  lastName: z.string().optional(),
  email: z.string().optional(),
});

export default defineActivity({
  name: 'moodle.roster',
  description: "The active students of a Moodle course (or one of its groups), through core_enrol_get_enrolled_users.",
  input: z.strictObject({
    url: z.url().describe('Moodle site root'),
    courseId: z.int().positive(),
    groupId: z.int().min(0).default(0).describe('A group of the course; 0: every student of the course'),
    tokenEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/).default('MOODLE_TOKEN').describe('Environment variable of the worker holding the web service token'),
    tokenRef: SecretRef.optional().describe('Or: the token in Vault ("vault:<path>#<field>"), read by the worker; wins over tokenEnv'),
    pageSize: z.int().min(1).max(1000).default(200),
  }),
  output: z.object({ students: z.array(RosterStudent), pages: z.int() }),
  async handler({ url, courseId, groupId, tokenEnv, tokenRef, pageSize }, ctx) {
    const token = tokenRef ? await resolveSecret(tokenRef, { signal: ctx.signal }) : process.env[tokenEnv];
    if (!token) throw ApplicationFailure.nonRetryable(`the worker has no ${tokenEnv}: set it to the Moodle web service token`, 'MoodleAuth');
    const students: z.infer<typeof RosterStudent>[] = [];
    let pages = 0;
    for (let from = 0; ; from += pageSize) {
      const options = [
        { name: 'onlyactive', value: 1 },
        { name: 'userfields', value: 'id,username,firstname,lastname,email,idnumber' },
        { name: 'limitfrom', value: from },
        { name: 'limitnumber', value: pageSize },
        ...(groupId ? [{ name: 'groupid', value: groupId }] : []),
      ];
      const page = z.array(EnrolledUser).parse(await moodleCall<unknown>({ url, token, signal: ctx.signal }, 'core_enrol_get_enrolled_users', { courseid: courseId, options }));
      pages++;
      for (const u of page) {
        students.push({
          id: String(u.id),
          ...(u.username ? { username: u.username } : {}),
          ...(u.firstname ? { firstName: u.firstname } : {}),
          ...(u.lastname ? { lastName: u.lastname } : {}),
          ...(u.email ? { email: u.email } : {}),
        });
      }
      ctx.heartbeat({ pages, students: students.length });
      if (page.length < pageSize) break;
    }
    return { students, pages };
  },
});
