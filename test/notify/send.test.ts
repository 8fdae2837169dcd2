// notify.send against a local Discord webhook receiver and a local SMTP server: approval notices
// (one e-mail and one private Discord message per approver, with a working personal link; none
// for the initiator; group channels announced without links), plain notices, Discord 429 /
// retry_after, transient and permanent failures, and retries that do not send twice — directly
// and through a real Temporal worker.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityContext } from '../../activities/define.ts';
import { deliver } from '../../activities/notify/send.ts';
import { loadNotifyConfig, type LoadedNotifyConfig } from '../../activities/notify/config.ts';
import { verifyLink } from '../../api/links/token.ts';
import { compileSource } from '../../workflows/compiler/index.ts';
import { loadCatalog } from '../../activities/catalog.ts';
import { eventually, payloadValue, temporalTestEnv, type TemporalTestEnv } from '../support/temporal.ts';
import { graphQuery } from '../../workflows/interpreter/messages.ts';
import { discordReceiver, linkIn, smtpCapture, type DiscordReceiver, type SmtpCapture } from './_servers.ts';
import { notifyConfigFile, PUBLIC_URL, SECRET } from './_config.ts';

let discord: DiscordReceiver;
let smtp: SmtpCapture;
let config: LoadedNotifyConfig;

function ctx(idempotencyKey: string, beats: unknown[] = []): ActivityContext {
  return { attempt: 1, idempotencyKey, heartbeat: (d) => beats.push(d), signal: new AbortController().signal, log: { info() {}, warn() {} } };
}

const deadline = () => new Date(Date.now() + 3_600_000).toISOString();
const request = (over: Record<string, unknown> = {}) => ({
  to: ['ets-it', 'sre'],
  subject: 'Approval needed: Publish the club site',
  kind: 'approval-request',
  body: JSON.stringify({ change: 'New app', hostname: 'club.etsmtl.ca' }),
  approval: { workflowId: 'wf-1', runId: 'run-1', stepId: 'review', title: 'Publish the club site', groups: ['ets-it', 'sre'], deadline: deadline(), initiator: 'alice' },
  ...over,
});

const postsTo = (path: string) => discord.posts.filter((p) => p.path === `/webhooks/${path}`);
const mailsTo = (address: string) => smtp.messages.filter((m) => m.to.includes(address));

// SMTP 4xx (SMTPServer only answers rcpt errors with the code we set) and the servers are per file.
before(async () => {
  discord = await discordReceiver();
  smtp = await smtpCapture();
  config = loadNotifyConfig({ CEDILLE_NOTIFY_CONFIG: notifyConfigFile(discord, smtp) })!;
});
after(async () => {
  await discord.close();
  await smtp.close();
});

describe('notify.send channels', () => {
  it('sends each approver one e-mail and one private Discord message with a personal link, never the initiator', async () => {
    discord.posts.length = 0;
    smtp.messages.length = 0;
    const input = request();
    const out = await deliver(input, config, ctx('wf-1/review-notice'));

    for (const [id, address] of [['edith', 'edith@ets.test'], ['ada', 'ada@cedille.test'], ['grace', 'grace@cedille.test']] as const) {
      const mails = mailsTo(address);
      assert.equal(mails.length, 1, `one e-mail to ${id}`);
      const link = linkIn(mails[0]!.text);
      assert.ok(link?.startsWith(`${PUBLIC_URL}/approve/`), `link in the e-mail to ${id}`);
      const v = verifyLink(link!.split('/approve/')[1]!, SECRET);
      assert.ok(v.ok && !v.expired);
      assert.deepEqual([v.claims.workflowId, v.claims.stepId, v.claims.approver, v.claims.exp], ['wf-1', 'review', id, Math.floor(Date.parse(input.approval.deadline) / 1000)]);
      assert.match(mails[0]!.text, /Requested by: alice/);
      assert.match(mails[0]!.text, /"hostname": "club.etsmtl.ca"/);
      assert.match(mails[0]!.text, /ref wf-1\/review-notice/, 'idempotency key in the footer');
      assert.match(mails[0]!.raw, /Message-ID: <[0-9a-f]{32}@cedille-workflows>/i);
      if (id !== 'grace') {
        const posts = postsTo(id);
        assert.equal(posts.length, 1, `one private Discord message to ${id}`);
        const embed = posts[0]!.body.embeds![0]!;
        assert.equal(embed.url, link, 'the same personal link on both channels');
        assert.deepEqual(embed.fields!.map((f) => f.name), ['Deadline', 'Requested by', 'Approver groups']);
        assert.deepEqual(posts[0]!.body.allowed_mentions, { parse: [], users: [config.directory.find((p) => p.id === id)!.discord!.userId] });
      }
    }
    assert.equal(mailsTo('alice@cedille.test').length, 0, 'no request to the initiator');
    assert.equal(postsTo('alice').length, 0);

    // Group channels: one announcement per webhook, mentions, no personal link.
    assert.equal(postsTo('sre').length, 1);
    assert.equal(postsTo('default').length, 1, 'ets-it has no webhook of its own: the default one');
    for (const p of [...postsTo('sre'), ...postsTo('default')]) {
      assert.equal(linkIn(JSON.stringify(p.body)), undefined, 'no link in a shared channel');
      assert.equal(p.body.embeds![0]!.url, undefined);
    }
    assert.match(postsTo('sre')[0]!.body.content, /<@100000000000000002>/);
    assert.doesNotMatch(postsTo('sre')[0]!.body.content, /100000000000000004/, 'the initiator is not summoned');

    assert.deepEqual(out.skipped, [{ to: 'alice', reason: 'started this run (four-eyes: no approval link, no request)' }]);
    assert.deepEqual(out.failed, []);
    assert.deepEqual(
      out.delivered.map((d) => `${d.channel}:${d.to}:${d.link ?? '-'}`).sort(),
      ['discord:ada:true', 'discord:edith:true', 'discord:ets-it:-', 'discord:sre:-', 'email:ada:true', 'email:edith:true', 'email:grace:true'],
    );
    const json = JSON.stringify(out);
    for (const secret of [SECRET, 'smtp-password-never-shown', '/approve/', discord.url]) assert.ok(!json.includes(secret), `output holds no ${secret}`);
  });

  it('informs escalation recipients outside the approver groups without a link', async () => {
    smtp.messages.length = 0;
    const out = await deliver(request({ to: ['managers'], kind: 'approval-escalation', subject: 'Escalation: still pending' }), config, ctx('wf-1/escalation'));
    const [mail] = mailsTo('manny@ets.test');
    assert.ok(mail);
    assert.equal(linkIn(mail.text), undefined);
    assert.match(mail.text, /Escalation: this request is still waiting/);
    assert.deepEqual(out.delivered.map((d) => `${d.channel}:${d.to}:${d.link ?? '-'}`).sort(), ['discord:managers:-', 'email:manny:false']);
  });

  it('sends plain notices to group channels and directory e-mails', async () => {
    discord.posts.length = 0;
    smtp.messages.length = 0;
    const out = await deliver({ to: ['sre', 'edith'], subject: 'Backup finished', kind: 'info', body: 'all 12 volumes saved' }, config, ctx('wf-2/notice'));
    assert.equal(postsTo('sre').length, 1);
    assert.equal(postsTo('sre')[0]!.body.embeds![0]!.title, 'Backup finished');
    assert.equal(postsTo('ada').length, 0, 'group members read the group channel');
    assert.equal(postsTo('edith').length, 1, 'named directly: private channel');
    assert.deepEqual(smtp.messages.flatMap((m) => m.to).sort(), ['ada@cedille.test', 'alice@cedille.test', 'edith@ets.test', 'grace@cedille.test']);
    assert.match(mailsTo('grace@cedille.test')[0]!.text, /all 12 volumes saved/);
    assert.equal(out.failed.length, 0);
  });

  it("waits out Discord's retry_after, and a retry after a failure skips what was delivered", async () => {
    discord.posts.length = 0;
    smtp.messages.length = 0;
    discord.failNext('/webhooks/ada', { status: 429, retryAfter: 0.3 });
    discord.failNext('/webhooks/edith', { status: 503 });
    smtp.rejectNext('grace@cedille.test', 451);
    const key = 'wf-3/review-notice';
    const beats: unknown[] = [];
    const started = Date.now();
    const first = await deliver(request(), config, ctx(key, beats)).then(
      () => assert.fail('transient failures must fail the attempt'),
      (err: unknown) => err as ApplicationFailure,
    );
    assert.ok(first instanceof ApplicationFailure);
    assert.equal(first.nonRetryable, false);
    assert.match(first.message, /discord to edith: Discord answered 503/);
    assert.match(first.message, /email to grace: SMTP/);
    const ada = discord.attempts.filter((a) => a.path === '/webhooks/ada').map((a) => a.status);
    assert.deepEqual(ada.slice(-2), [429, 204]);
    assert.ok(Date.now() - started >= 300, 'retry_after honoured');
    assert.deepEqual((beats.at(-1) as { delivered: string[] }).delivered.sort(), ['discord-group:ets-it', 'discord-group:sre', 'discord:ada', 'email:ada', 'email:edith'].sort());

    const second = await deliver(request(), config, ctx(key));
    assert.equal(postsTo('edith').length, 1);
    assert.equal(postsTo('ada').length, 1, 'not sent again');
    assert.equal(postsTo('sre').length, 1, 'not sent again');
    assert.equal(mailsTo('ada@cedille.test').length, 1, 'not sent again');
    assert.equal(mailsTo('grace@cedille.test').length, 1);
    assert.deepEqual(second.delivered.filter((d) => !d.earlierAttempt).map((d) => `${d.channel}:${d.to}`).sort(), ['discord:edith', 'email:grace']);
  });

  it('reports permanent refusals (Discord 4xx, SMTP 5xx) without retrying them', async () => {
    discord.failNext('/webhooks/ada', { status: 404 });
    smtp.rejectNext('grace@cedille.test', 550);
    const out = await deliver(request({ to: ['sre'] }), config, ctx('wf-4/review-notice'));
    assert.deepEqual(out.failed.map((f) => `${f.channel}:${f.to}`).sort(), ['discord:ada', 'email:grace']);
    assert.match(out.failed.find((f) => f.to === 'grace')!.error, /550/);
    assert.ok(out.delivered.some((d) => d.to === 'ada' && d.channel === 'email'));
  });

  it('logs without a configuration (the dev default)', async () => {
    const catalog = await loadCatalog();
    const send = catalog.get('notify.send')!;
    const saved = process.env.CEDILLE_NOTIFY_CONFIG;
    delete process.env.CEDILLE_NOTIFY_CONFIG;
    try {
      assert.deepEqual(await send.handler(send.input.parse({ to: ['sre'], subject: 'x' }), ctx('k')), { delivered: [{ to: 'sre', channel: 'log' }], skipped: [], failed: [] });
    } finally {
      if (saved !== undefined) process.env.CEDILLE_NOTIFY_CONFIG = saved;
    }
  });
});

describe('notify.send in a run', () => {
  let t: TemporalTestEnv;
  before(async () => {
    t = await temporalTestEnv();
    process.env.CEDILLE_NOTIFY_CONFIG = notifyConfigFile(discord, smtp);
    await t.startWorker();
  });
  after(async () => {
    await t.close();
    delete process.env.CEDILLE_NOTIFY_CONFIG;
  });

  it('retries a failed delivery without duplicating the others, and keeps links and secrets out of history', async () => {
    discord.posts.length = 0;
    smtp.messages.length = 0;
    discord.attempts.length = 0;
    discord.failNext('/webhooks/edith', { status: 500 });
    const compiled = compileSource(readFileSync(new URL('./fixtures/change-approval.yaml', import.meta.url), 'utf8'), { catalog: await loadCatalog(), file: 'change-approval.yaml' });
    assert.ok(compiled.ok);
    const h = await t.start(compiled.definition, { app: 'radio', hostname: 'radio.etsmtl.ca' }, { initiator: 'alice' });
    await eventually(() => (postsTo('edith').length === 1 ? true : undefined), 20_000, 'the retried Discord message');
    await eventually(async () => {
      const g = await h.query(graphQuery);
      return g.nodes.find((n) => n.id === 'review')?.status === 'waiting' ? true : undefined;
    });
    // Attempt 1 failed on edith's channel; attempt 2 sent only that.
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(discord.attempts.filter((a) => a.path === '/webhooks/edith').map((a) => a.status), [500, 204]);
    for (const p of ['ada', 'sre', 'default']) assert.equal(postsTo(p).length, 1, p);
    assert.deepEqual(smtp.messages.flatMap((m) => m.to).sort(), ['ada@cedille.test', 'edith@ets.test', 'grace@cedille.test']);
    const link = linkIn(mailsTo('edith@ets.test')[0]!.text)!;
    assert.equal(postsTo('edith')[0]!.body.embeds![0]!.url, link, 'the retry minted the same link');

    // Payloads decoded (decrypted when the run encrypts), each as its JSON text: what a reader with the keys sees.
    const bytes = (b64: string) => Buffer.from(b64, 'base64');
    const decodedPayload = (p: { metadata?: Record<string, string>; data?: string }) =>
      JSON.stringify(payloadValue({ metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, bytes(v)])), data: bytes(p.data ?? '') }));
    const history = JSON.stringify((await h.fetchHistory()).events, (k, v: unknown) =>
      k === 'payloads' && Array.isArray(v) ? v.map(decodedPayload) : k === 'data' && typeof v === 'string' ? bytes(v).toString('utf8') : v,
    );
    for (const secret of [SECRET, 'smtp-password-never-shown', '/approve/']) assert.ok(!history.includes(secret), `history holds no ${secret}`);
    assert.ok(history.includes(String.raw`\"to\":\"edith\",\"channel\":\"discord\",\"link\":true`), 'the output lists deliveries, without the link');
    await h.cancel();
  });
});
