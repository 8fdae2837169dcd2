// incidents.publish: the approved report goes to the wiki's git repository (git.commitFiles: the
// same content twice makes no second commit) and its audience version is sent with notify.send —
// the clubs get the availability report, ÉTS IT the security one. A retried attempt neither
// commits nor notifies twice (notify.send's delivery keys under this activity's idempotency key).
import { z } from 'zod';
import { ApplicationFailure } from '@temporalio/common';
import { defineActivity } from '../define.ts';
import { commitFiles, CommitFilesInput } from '../git/_commit.ts';
import notifySend from '../notify/send.ts';

export default defineActivity({
  name: 'incidents.publish',
  description:
    "Commits the report to the wiki's git repository (idempotent) and sends the audience version (clubs: availability; " +
    'ÉTS IT: security) and a notice to the admins with notify.send.',
  input: z.strictObject({
    repository: z.string().min(1).optional().describe("The wiki's git remote (URL or path); default CEDILLE_INCIDENTS_WIKI"),
    branch: z.string().default('main'),
    path: z.string().min(1),
    markdown: z.string().min(1),
    title: z.string().min(1),
    audience: z.array(z.string()).describe('notify.send targets of the audience version'),
    audienceMarkdown: z.string(),
    admins: z.array(z.string()).default([]),
    link: z.string().optional().describe('Where the published report can be read'),
  }),
  output: z.object({
    commit: z.string(),
    changed: z.boolean(),
    path: z.string(),
    notified: z.object({ audience: z.int(), admins: z.int() }),
  }),
  async handler(input, ctx) {
    const repository = input.repository ?? process.env.CEDILLE_INCIDENTS_WIKI;
    if (!repository) throw ApplicationFailure.nonRetryable('no wiki repository: set CEDILLE_INCIDENTS_WIKI on the worker (or pass repository)', 'WikiNotConfigured');
    const committed = await commitFiles(
      CommitFilesInput.parse({ repository, branch: input.branch, files: { [input.path]: input.markdown }, message: `${input.title}\n\nPublished by the incident workflow (${ctx.idempotencyKey}).` }),
      { signal: ctx.signal, heartbeat: (d) => ctx.heartbeat({ git: d }) },
    );
    const send = async (to: string[], kind: string, subject: string, body: string) => {
      if (!to.length) return 0;
      const out = await notifySend.handler(notifySend.input.parse({ to, kind, subject, body, ...(input.link ? { link: input.link } : {}) }), { ...ctx, idempotencyKey: `${ctx.idempotencyKey}/${kind}` });
      return out.delivered.length;
    };
    const audience = await send(input.audience, 'incident-report', input.title, input.audienceMarkdown);
    const admins = await send(input.admins, 'incident-report-published', `Published: ${input.title}`, `${input.path} (commit ${committed.commit.slice(0, 12)})`);
    return { commit: committed.commit, changed: committed.changed, path: input.path, notified: { audience, admins } };
  },
});
