// Four-eyes in notify.send (issue 12): the run's initiator and the identities its ticket excludes
// (whoever triggered a schedule by hand) get no approval link and no request, matched by their
// identity-provider subject, never by directory id; links are minted for the entry's subject.
// Directly against the local Discord and SMTP servers, and in a run on a real Temporal worker whose
// ticket is signed as the schedules API signs a triggered run.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ActivityContext } from '../../activities/define.ts';
import { deliver } from '../../activities/notify/send.ts';
import { loadNotifyConfig, type LoadedNotifyConfig } from '../../activities/notify/config.ts';
import { verifyLink } from '../../api/links/token.ts';
import { compileSource } from '../../workflows/compiler/index.ts';
import { loadCatalog } from '../../activities/catalog.ts';
import { graphQuery } from '../../workflows/interpreter/messages.ts';
import type { RunInput } from '../../workflows/interpreter/run-input.ts';
import { signRunTicket } from '../../trust/run-ticket.ts';
import { signingKeyFromEnv } from '../../trust/signing-key.ts';
import { eventually, temporalTestEnv, type TemporalTestEnv } from '../support/temporal.ts';
import { discordReceiver, linkIn, smtpCapture, type DiscordReceiver, type SmtpCapture } from './_servers.ts';
import { PUBLIC_URL, SECRET } from './_config.ts';

/** The initiator and the excluded admin, by identity-provider subject (not their directory ids). */
const INITIATOR = 'alice-admin';
const EXCLUDED = 'bob-admin-sre';

let discord: DiscordReceiver;
let smtp: SmtpCapture;
let file: string;
let config: LoadedNotifyConfig;

/** Every entry is an SRE approver; directory ids differ from subjects on purpose. */
function directory(webhooks: string) {
  return [
    { id: 'alice', subject: INITIATOR, name: 'Alice Admin', email: 'alice@cedille.test', discord: { userId: '100000000000000004', webhook: `${webhooks}/alice` }, groups: ['sre'] },
    { id: 'bob', subject: EXCLUDED, name: 'Bob Admin', email: 'bob@cedille.test', discord: { userId: '100000000000000005', webhook: `${webhooks}/bob` }, groups: ['sre'] },
    { id: 'ada', subject: 'ada-sre', name: 'Ada Lovelace', email: 'ada@cedille.test', discord: { userId: '100000000000000002', webhook: `${webhooks}/ada` }, groups: ['sre'] },
    // A directory id that happens to equal the initiator's subject belongs to someone else: she is asked.
    { id: INITIATOR, subject: 'carol-sre', name: 'Carol Shaw', email: 'carol@cedille.test', groups: ['sre'] },
  ];
}

const postsTo = (path: string) => discord.posts.filter((p) => p.path === `/webhooks/${path}`);
const mailsTo = (address: string) => smtp.messages.filter((m) => m.to.includes(address));
const ctx = (idempotencyKey: string): ActivityContext => ({ attempt: 1, idempotencyKey, heartbeat() {}, signal: new AbortController().signal, log: { info() {}, warn() {} } });

before(async () => {
  discord = await discordReceiver();
  smtp = await smtpCapture();
  file = join(mkdtempSync(join(tmpdir(), 'cedille-four-eyes-')), 'notify.json');
  writeFileSync(
    file,
    JSON.stringify({
      directory: directory(`${discord.url}/webhooks`),
      discord: { groups: { sre: `${discord.url}/webhooks/sre` } },
      smtp: { host: '127.0.0.1', port: smtp.port, secure: false, from: 'Cédille Workflows <workflows@cedille.test>' },
      publicUrl: PUBLIC_URL,
      linkSecret: SECRET,
    }),
  );
  config = loadNotifyConfig({ CEDILLE_NOTIFY_CONFIG: file })!;
});
after(async () => {
  await discord.close();
  await smtp.close();
});

/** Asserts who was asked: links (minted for the subject) to ada and carol only; nothing to alice or bob. */
function assertOnlyOthersAsked(secret: string, workflowId: string) {
  for (const [address, subject] of [['ada@cedille.test', 'ada-sre'], ['carol@cedille.test', 'carol-sre']] as const) {
    const mails = mailsTo(address);
    assert.equal(mails.length, 1, `one request to ${address}`);
    const v = verifyLink(linkIn(mails[0]!.text)!.split('/approve/')[1]!, secret);
    assert.ok(v.ok, `a valid link for ${address}`);
    assert.deepEqual([v.claims.workflowId, v.claims.approver, v.claims.groups], [workflowId, subject, ['sre']], `the link answers as ${subject}`);
  }
  for (const who of ['alice', 'bob']) {
    assert.equal(mailsTo(`${who}@cedille.test`).length, 0, `no request to ${who}`);
    assert.equal(postsTo(who).length, 0, `no private message to ${who}`);
  }
  assert.equal(postsTo('ada').length, 1);
  const [announcement] = postsTo('sre');
  assert.ok(announcement, 'the group channel is told');
  assert.match(announcement.body.content, /<@100000000000000002>/);
  assert.doesNotMatch(announcement.body.content, /100000000000000004|100000000000000005/, 'neither the initiator nor the excluded admin is summoned');
}

describe('notify.send four-eyes by subject', () => {
  it('gives no link and no request to the initiator or the excluded identities, whatever their directory ids', async () => {
    discord.posts.length = 0;
    smtp.messages.length = 0;
    const deadline = new Date(Date.now() + 3_600_000).toISOString();
    const out = await deliver(
      {
        to: ['sre'],
        subject: 'Approval needed: Restart the database',
        kind: 'approval-request',
        approval: { workflowId: 'wf-four-eyes', runId: 'run-1', stepId: 'review', title: 'Restart the database', groups: ['sre'], deadline, initiator: INITIATOR, excluded: [EXCLUDED] },
      },
      config,
      ctx('wf-four-eyes/review-notice'),
    );
    assertOnlyOthersAsked(config.link.secret!, 'wf-four-eyes');
    assert.deepEqual(out.skipped.map((s) => s.to), ['alice', 'bob']);
    assert.ok(out.skipped.every((s) => /four-eyes/.test(s.reason)));
    assert.deepEqual(out.delivered.map((d) => `${d.channel}:${d.to}:${d.link ?? '-'}`).sort(), ['discord:ada:true', 'discord:sre:-', 'email:ada:true', `email:${INITIATOR}:true`]);
  });

  describe('in a run', () => {
    let t: TemporalTestEnv;
    before(async () => {
      t = await temporalTestEnv();
      process.env.CEDILLE_NOTIFY_CONFIG = file;
      await t.startWorker();
    });
    after(async () => {
      await t.close();
      delete process.env.CEDILLE_NOTIFY_CONFIG;
    });

    it("leaves out the initiator and the identities the run's ticket excludes", async () => {
      discord.posts.length = 0;
      smtp.messages.length = 0;
      const source = readFileSync(new URL('../fixtures/definitions/api-approval.yaml', import.meta.url), 'utf8');
      const compiled = compileSource(source, { catalog: await loadCatalog(), file: 'api-approval.yaml' });
      assert.ok(compiled.ok);
      const definition = compiled.definition;
      const key = signingKeyFromEnv();
      assert.ok(key, 'CEDILLE_LINK_SECRET is set by test/run.ts');
      const workflowId = `four-eyes-${randomUUID()}`;
      // As the schedules API signs a run an admin triggered: the creator initiates, the trigger is excluded.
      const run: RunInput = { definition, initiator: INITIATOR, ticket: signRunTicket({ workflowId, definition, input: null, initiator: INITIATOR, excluded: [EXCLUDED] }, key) };
      const h = await t.client.workflow.start('interpret', { taskQueue: t.taskQueue, workflowId, args: [run] });
      try {
        // Group announcements are sent after every personal delivery: once it arrived, notify.send is done.
        await eventually(() => (postsTo('sre').length ? true : undefined), 20_000, 'the group announcement');
        const review = (await h.query(graphQuery)).nodes.find((n) => n.id === 'review');
        assert.equal(review?.status, 'waiting');
        assertOnlyOthersAsked(loadNotifyConfig()!.link.secret!, workflowId);
      } finally {
        await h.terminate('test done');
      }
    });
  });
});
