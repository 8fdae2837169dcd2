// The approval page end to end: the worker's notify.send mails a personal link (local SMTP server),
// headless Chromium opens it, the approver comments and approves, the run goes on with the
// decision recorded under their directory id; the link is then used, an expired link and a
// tampered one are refused, and the workflow's refusals (four-eyes) read in plain words; two API
// replicas on one PostgreSQL take one answer per link, and a restarted API still knows it was used.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { apiTestEnv, IDENTITIES, type ApiTestEnv } from '../support/api.ts';
import { eventually } from '../support/temporal.ts';
import { compileSource } from '../../workflows/compiler/index.ts';
import { loadCatalog } from '../../activities/catalog.ts';
import type { CompiledDefinition } from '../../workflows/dsl/compiled.ts';
import { graphQuery } from '../../workflows/interpreter/messages.ts';
import { linkNonce, signLink } from '../../api/links/token.ts';
import { discordReceiver, linkIn, smtpCapture, type DiscordReceiver, type SmtpCapture } from '../notify/_servers.ts';
import { notifyConfigFile, SECRET } from '../notify/_config.ts';
import { buildApi } from '../../api/app.ts';
import { testDatabase } from '../support/postgres.ts';

const SCREENSHOT = '/tmp/cedille-approval-page.png';

let env: ApiTestEnv;
let base: string;
let discord: DiscordReceiver;
let smtp: SmtpCapture;
let browser: BrowserContext;
let definition: CompiledDefinition;
/** The same change, approved by two distinct people of ets-it or sre. */
let twoApprovers: CompiledDefinition;

/** One person in ets-it and sre: directory id `sam`, known to the identity provider (and the API) as IDENTITIES.etsItSre. */
const SAM = { id: 'sam', subject: IDENTITIES.etsItSre.subject, name: 'Sam Both', email: 'sam@cedille.test', groups: ['ets-it', 'sre'] };

before(async () => {
  discord = await discordReceiver();
  smtp = await smtpCapture();
  // The in-process worker reads the notification settings from its environment, like a real one.
  process.env.CEDILLE_NOTIFY_CONFIG = notifyConfigFile(discord, smtp, undefined, [SAM]);
  process.env.CEDILLE_LINK_SECRET = SECRET;
  env = await apiTestEnv({ env: { CEDILLE_NOTIFY_CONFIG: process.env.CEDILLE_NOTIFY_CONFIG, CEDILLE_LINK_SECRET: SECRET } });
  base = await env.app.listen({ host: '127.0.0.1', port: 0 });
  process.env.API_PUBLIC_URL = base;
  const source = readFileSync(new URL('../notify/fixtures/change-approval.yaml', import.meta.url), 'utf8');
  const compiled = compileSource(source, { catalog: await loadCatalog(), file: 'change-approval.yaml' });
  assert.ok(compiled.ok);
  definition = compiled.definition;
  const quorum2 = compileSource(source.replace('groups: [ets-it, sre]', 'groups: [ets-it, sre]\n        quorum: 2'), { catalog: await loadCatalog(), file: 'change-approval.yaml' });
  assert.ok(quorum2.ok && quorum2.definition.steps.some((st) => st.kind === 'approval' && st.quorum === 2));
  twoApprovers = quorum2.definition;
  // A fresh profile per run (playwright passes it as --user-data-dir).
  browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'cedille-chromium-')), {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1000, height: 1100 },
  });
});

after(async () => {
  await browser?.close();
  await env?.close();
  await discord?.close();
  await smtp?.close();
});

async function startRun(app: string) {
  const h = await env.temporal.start(definition, { app, hostname: `${app}.etsmtl.ca` }, { initiator: 'alice' });
  const mail = await eventually(() => smtp.messages.find((m) => m.to.includes('edith@ets.test') && m.subject.includes(app)), 20_000, 'the e-mail to edith');
  const link = linkIn(mail.text) ?? '';
  assert.ok(link.startsWith(`${base}/approve/`), 'the link points at this API');
  return { h, link, token: link.split('/approve/')[1]! };
}

async function get(path: string) {
  const res = await fetch(`${base}${path}`);
  return { status: res.status, text: await res.text(), headers: res.headers };
}

/** Opens a link's page as the browser does; `submit` posts its form (also after the page went stale). */
async function openPage(link: string) {
  const path = new URL(link).pathname;
  const form = /name="form" value="([^"]+)"/.exec((await get(path)).text)?.[1];
  assert.ok(form, 'the page shows the form');
  return {
    async submit(decision: 'approve' | 'reject') {
      const res = await fetch(`${base}${path}`, { method: 'POST', body: new URLSearchParams({ decision, form }) });
      return { status: res.status, text: await res.text() };
    },
  };
}

describe('approval page', () => {
  it('shows a non-engineer what to approve, records the decision, and works once', async () => {
    const { h, link } = await startRun('radio');
    const page = await browser.newPage();
    try {
      const response = await page.goto(link);
      assert.equal(response?.status(), 200);
      assert.equal(response?.headers()['referrer-policy'], 'no-referrer');
      const text = await page.locator('main').innerText();
      assert.match(await page.locator('h1').innerText(), /Publish the club site radio at radio\.etsmtl\.ca/);
      assert.match(text, /Requested by\s+Alice Admin/);
      assert.match(text, /Answer before\s+\w+day, .* \(America\/Toronto\)/);
      assert.match(text, /Hostname\s+radio\.etsmtl\.ca/);
      assert.match(text, /Pull request\s+apps\/radio: base, prod, staging, argo\.yaml/);
      assert.match(text, /New application radio \(namespace radio, staging and prod\)/);
      assert.match(text, /You\s+Édith Tremblay/);
      assert.match(text, /Nobody has answered yet/);
      assert.match(text, /change-approval/);
      await page.screenshot({ path: SCREENSHOT, fullPage: true });

      await page.fill('textarea[name=comment]', 'Hostname and namespace checked with the club captain.');
      await Promise.all([page.waitForURL(link), page.click('button.approve')]);
      const outcome = await page.locator('main').innerText();
      assert.match(outcome, /you approved/i);
      assert.match(outcome, /as Édith Tremblay with the comment “Hostname and namespace checked with the club captain\.”/);
      assert.match(outcome, /now approved: the workflow continues/);
    } finally {
      await page.close();
    }

    const result = (await h.result()) as { approved: boolean; decisions: { approver: string; comment?: string; groups: string[]; via: string }[] };
    assert.equal(result.approved, true);
    assert.deepEqual(result.decisions.map((d) => [d.approver, d.groups, d.comment, d.via]), [['edith', ['ets-it'], 'Hostname and namespace checked with the club captain.', 'update']]);
    const graph = await h.query(graphQuery);
    assert.deepEqual(graph.nodes.map((n) => [n.id, n.status]), [['review', 'completed'], ['apply', 'completed']]);
    assert.equal(graph.nodes[0]!.approval!.decisions[0]!.approver, 'edith');

    const again = await get(new URL(link).pathname);
    assert.equal(again.status, 409);
    assert.match(again.text, /already used on \w+day, .* by Édith Tremblay to approve/);
    const audit = await env.as('admin', { method: 'GET', url: '/v1/audit?action=approval.approve' });
    assert.deepEqual(audit.json().entries.map((e: { actor: string; target: string }) => [e.actor, e.target]), [['edith', h.workflowId]]);
  });

  it('refuses expired and tampered links, and explains the workflow refusals without using the link', async () => {
    const { h, token } = await startRun('jazz');
    const expired = signLink({ workflowId: h.workflowId, stepId: 'review', approver: 'ada', exp: Math.floor(Date.now() / 1000) - 60, nonce: 'expired-nonce-1' }, SECRET);
    const e = await get(`/approve/${expired}`);
    assert.equal(e.status, 410);
    assert.match(e.text, /This link expired at \w+day/);

    const [payload, sig] = token.split('.') as [string, string];
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), a: 'ada' })).toString('base64url');
    for (const bad of [`${forged}.${sig}`, `${payload}.${sig.slice(0, -1)}${sig.endsWith('A') ? 'B' : 'A'}`, 'not-a-token']) {
      const r = await get(`/approve/${bad}`);
      assert.equal(r.status, 400, bad);
      assert.match(r.text, /This link is not valid/);
    }
    const post = await fetch(`${base}/approve/${forged}.${sig}`, { method: 'POST', body: new URLSearchParams({ decision: 'approve', form: 'x' }) });
    assert.equal(post.status, 400);

    // A link for the initiator (notify.send never mints one; signed here): the workflow refuses it.
    const own = signLink({ workflowId: h.workflowId, stepId: 'review', approver: 'alice', exp: Math.floor(Date.now() / 1000) + 600, nonce: linkNonce('test', 'alice', 'review') }, SECRET);
    const page = await get(`/approve/${own}`);
    assert.equal(page.status, 200);
    const form = /name="form" value="([^"]+)"/.exec(page.text)![1]!;
    const noForm = await fetch(`${base}/approve/${own}`, { method: 'POST', body: new URLSearchParams({ decision: 'approve', form: `${form}x` }) });
    assert.equal(noForm.status, 400, 'the hidden form nonce is checked');
    const refused = await fetch(`${base}/approve/${own}`, { method: 'POST', body: new URLSearchParams({ decision: 'approve', form, comment: '<script>alert(1)</script>' }) });
    assert.equal(refused.status, 409);
    assert.match(await refused.text(), /You started this request/);
    assert.equal((await get(`/approve/${own}`)).status, 200, 'a refused answer does not use the link');

    // Rejecting through the real link ends the run; the page escapes what it shows.
    const reject = await fetch(`${base}/approve/${token}`, { method: 'POST', body: new URLSearchParams({ decision: 'reject', form: /name="form" value="([^"]+)"/.exec((await get(`/approve/${token}`)).text)![1]!, comment: '<b>not on a Friday</b>' }) });
    assert.equal(reject.status, 200);
    const html = await reject.text();
    assert.ok(html.includes('&lt;b&gt;not on a Friday&lt;/b&gt;') && !html.includes('<b>not'), 'escaped');
    await assert.rejects(h.result());
    const late = await fetch(`${base}/approve/${own}`, { method: 'POST', body: new URLSearchParams({ decision: 'approve', form }) });
    assert.equal(late.status, 409);
    assert.match(await late.text(), /already decided/i);
  });

  it('counts one person once (quorum 2): a link answer and an API answer are the same identity, the directory subject', async () => {
    for (const [app, first] of [['chess', 'link'], ['go', 'api']] as const) {
      const h = await env.temporal.start(twoApprovers, { app, hostname: `${app}.etsmtl.ca` }, { initiator: 'alice' });
      const mail = await eventually(() => smtp.messages.find((m) => m.to.includes(SAM.email) && m.subject.includes(app)), 20_000, 'the e-mail to sam');
      const link = linkIn(mail.text) ?? '';
      assert.ok(link.startsWith(`${base}/approve/`), 'sam has a personal link');
      const byApi = () => env.as('etsItSre', { method: 'POST', url: `/v1/runs/${h.workflowId}/steps/review/approve` });

      // The page is open in sam's browser before either answer.
      const page = await openPage(link);
      if (first === 'link') {
        const answered = await page.submit('approve');
        assert.equal(answered.status, 200, answered.text);
        assert.match(answered.text, /still waits for other approvers/);
        const again = await byApi();
        assert.equal(again.statusCode, 409, `${app}: ${again.body}`);
        assert.equal(again.json().title, 'DuplicateAnswer');
      } else {
        const api = await byApi();
        assert.equal(api.statusCode, 200, api.body);
        assert.equal(api.json().status, 'pending');
        assert.match((await get(new URL(link).pathname)).text, /You already answered: approved/, 'the page knows sam answered through the API');
        const again = await page.submit('approve');
        assert.equal(again.status, 409, `${app}: ${again.text}`);
        assert.match(again.text, /You have already answered this request/);
      }
      const review = (await h.query(graphQuery)).nodes.find((n) => n.id === 'review')!;
      assert.equal(review.status, 'waiting', `${app}: still pending`);
      assert.equal(review.approval!.outcome, undefined);
      assert.deepEqual(review.approval!.decisions.map((d) => [d.approver, d.groups]), [[SAM.subject, ['ets-it', 'sre']]], `${app}: counted once, as the subject`);

      // A second person completes the quorum.
      const other = await env.as('sre2', { method: 'POST', url: `/v1/runs/${h.workflowId}/steps/review/approve` });
      assert.equal(other.statusCode, 200, other.body);
      assert.equal(other.json().status, 'approved');
      const result = (await h.result()) as { approved: boolean; decisions: { approver: string }[] };
      assert.deepEqual(result.decisions.map((d) => d.approver), [SAM.subject, IDENTITIES.sre2.subject]);
    }
  });
});

describe('two API replicas on one PostgreSQL', () => {
  it('the same link answered through both at once: one answer is taken, both then say used, and so does a restarted API', async () => {
    const config = { ...env.config, databaseUrl: await testDatabase('replicas') };
    const apis = [await buildApi({ config }), await buildApi({ config })];
    try {
      const bases = await Promise.all(apis.map((a) => a.listen({ host: '127.0.0.1', port: 0 })));
      const { h, link } = await startRun('twin');
      const path = new URL(link).pathname;
      const form = /name="form" value="([^"]+)"/.exec(await (await fetch(`${bases[0]}${path}`)).text())?.[1];
      assert.ok(form, 'the page shows the form');
      const answers = await Promise.all(bases.map(async (b) => (await fetch(`${b}${path}`, { method: 'POST', body: new URLSearchParams({ decision: 'approve', form }) })).status));
      assert.deepEqual([...answers].sort(), [200, 409]);
      const result = (await h.result()) as { approved: boolean; decisions: { approver: string }[] };
      assert.deepEqual([result.approved, result.decisions.map((d) => d.approver)], [true, ['edith']]);
      for (const b of bases) assert.match(await (await fetch(`${b}${path}`)).text(), /already used on/);

      await Promise.all(apis.splice(0).map((a) => a.close()));
      apis.push(await buildApi({ config }));
      const restarted = await apis[0]!.inject({ method: 'GET', url: path });
      assert.equal(restarted.statusCode, 409);
      assert.match(restarted.body, /already used on .* by Édith Tremblay to approve/);
    } finally {
      await Promise.all(apis.map((a) => a.close()));
    }
  });
});
