// No secret in any history. The project's secret-handling workflows run on the real server, with
// their secrets in the dev OpenBao and only references in definitions, inputs and the notify config:
//   - helloWorld (the built-in, by its workflow type);
//   - core.http with an Authorization header and an API key by Vault reference (a local peer checks them);
//   - notify.send to a group whose Discord webhook (a URL holding the webhook token) is a Vault
//     reference, e-mail with the SMTP password by reference;
//   - an approval: personal approval links (credentials) to an approver, answered by update.
// Every history is fetched raw and scanned (test/support/history-scan.ts) for the Vault token of the
// worker, the referenced secrets, the link secret and the approval links actually delivered: none
// may appear. This runs twice: without the codec (the references alone keep secrets out, payloads in
// clear) and with it (payloads encrypted). Negative controls: a secret planted in an input is found
// (raw and base64) without the codec, and not with it (encrypted payloads aside).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, type WorkflowHandle } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { dataConverter, generateKey, isEncrypted, keyring } from '../../codec/index.ts';
import { forgetSecrets } from '../../activities/_secrets.ts';
import { compileYaml } from '../interpreter/_defs.ts';
import { eventually, signedAnswer, temporalTestEnv, ticketed, type TemporalTestEnv } from '../support/temporal.ts';
import { describeFindings, rawHistory, scanHistories, secretForms, type KnownSecret } from '../support/history-scan.ts';
import { localServer, type LocalServer } from '../activities/_support.ts';
import { discordReceiver, linkIn, smtpCapture, type DiscordReceiver, type SmtpCapture } from '../notify/_servers.ts';
import { answerApprovalUpdate, graphQuery } from '../../workflows/interpreter/messages.ts';
import type { CompiledDefinition } from '../../workflows/dsl/compiled.ts';

const VAULT = process.env.CEDILLE_TEST_VAULT_ADDR;
const VAULT_TOKEN = process.env.CEDILLE_TEST_VAULT_TOKEN;
const KV = `secret/data/cedille-codec-test/${randomUUID()}`;
const token = (n = 24) => randomBytes(n).toString('base64url');
const SECRETS = {
  httpToken: `http-bearer-${token()}`,
  apiKey: `api-key-${token()}`,
  webhookToken: `webhook-token-${token(36)}`,
  smtpPassword: `smtp-pass-${token()}`,
  linkSecret: `link-secret-${token(32)}`,
};

let discord: DiscordReceiver;
let smtp: SmtpCapture;
let peer: LocalServer;
let tmp: string;
let secretsDef: CompiledDefinition;
let webhookUrl: string;
const savedEnv = { ...process.env };

before(async () => {
  assert.ok(VAULT && VAULT_TOKEN, 'run through test/run.ts: the dev OpenBao is started for test/codec/');
  discord = await discordReceiver();
  smtp = await smtpCapture();
  peer = await localServer((req, res) => {
    const ok = req.headers.authorization === `Bearer ${SECRETS.httpToken}` && req.headers['x-api-key'] === SECRETS.apiKey;
    res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' }).end(JSON.stringify({ ok }));
  });
  webhookUrl = `${discord.url}/webhooks/555000111/${SECRETS.webhookToken}`;
  const put = await fetch(`${VAULT}/v1/${KV}`, {
    method: 'POST',
    headers: { 'x-vault-token': VAULT_TOKEN!, 'content-type': 'application/json' },
    body: JSON.stringify({ data: { httpToken: SECRETS.httpToken, apiKey: SECRETS.apiKey, discordWebhook: webhookUrl, smtpPassword: SECRETS.smtpPassword } }),
  });
  assert.equal(put.status, 200, await put.text());

  tmp = mkdtempSync(join(tmpdir(), 'cedille-codec-scan-'));
  const notifyConfig = join(tmp, 'notify.json');
  writeFileSync(
    notifyConfig,
    JSON.stringify({
      directory: [{ id: 'ada', subject: 'ada', name: 'Ada Lovelace', email: 'ada@cedille.test', discord: { userId: '100000000000000002', webhook: `vault:${KV}#discordWebhook` }, groups: ['sre'] }],
      discord: { groups: { sre: `vault:${KV}#discordWebhook` } },
      smtp: { host: '127.0.0.1', port: smtp.port, secure: false, from: 'Cédille <workflows@cedille.test>', auth: { user: 'robot', pass: `vault:${KV}#smtpPassword` } },
      publicUrl: 'http://approvals.test',
      linkSecret: SECRETS.linkSecret,
    }),
  );
  // The in-process worker's settings: its Vault (token = the dev server's root token), notify, HTTP allow-list.
  Object.assign(process.env, { VAULT_ADDR: VAULT, VAULT_TOKEN, CEDILLE_NOTIFY_CONFIG: notifyConfig, CEDILLE_HTTP_ALLOW: peer.host });
  forgetSecrets();

  secretsDef = await compileYaml(`
apiVersion: workflows.cedille.etsmtl.ca/v1alpha1
kind: WorkflowDefinition
metadata: { name: codec-secrets }
spec:
  input:
    type: object
    properties: { url: { type: string } }
    required: [url]
  steps:
    - id: call
      activity: core.http
      with:
        url: "\${{ inputs.url }}"
        headers:
          Authorization: { vault: "${KV}#httpToken", prefix: "Bearer " }
          X-Api-Key: "vault:${KV}#apiKey"
    - id: tell
      activity: notify.send
      with: { to: [sre], subject: "Deployment called", body: "status \${{ steps.call.output.status }}" }
    - id: review
      approval:
        title: Publish the club site
        groups: [sre]
        timeout: 1h
        onTimeout: reject
  output:
    status: "\${{ steps.call.output.status }}"
    approved: "\${{ steps.review.output.approved }}"
`);
});

after(async () => {
  for (const k of ['VAULT_ADDR', 'VAULT_TOKEN', 'CEDILLE_NOTIFY_CONFIG', 'CEDILLE_HTTP_ALLOW']) {
    if (savedEnv[k] === undefined) delete process.env[k];
    else process.env[k] = savedEnv[k];
  }
  await discord?.close();
  await smtp?.close();
  await peer?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** Runs the project's secret-handling workflows on one worker; returns what was delivered and the executions. */
async function runWorkflows(env: TemporalTestEnv, client: Client): Promise<{ executions: { workflowId: string }[]; links: string[] }> {
  const started: WorkflowHandle[] = [];
  started.push(await client.workflow.start('helloWorld', { taskQueue: env.taskQueue, workflowId: `scan-hello-${randomUUID()}`, args: [{ name: 'Ada' }], memo: { initiator: 'alice-admin' } }));
  const postsBefore = discord.posts.length;
  const secretsId = `scan-secrets-${randomUUID()}`;
  const secrets = await client.workflow.start('interpret', {
    taskQueue: env.taskQueue,
    workflowId: secretsId,
    args: [ticketed(secretsId, { definition: secretsDef, input: { url: `http://${peer.host}/deploy` }, initiator: 'alice-admin' })],
  });
  started.push(secrets);
  await eventually(async () => ((await secrets.query(graphQuery)).nodes.find((n) => n.id === 'review')?.status === 'waiting' ? true : undefined), 30_000, 'the approval waits');
  // The approval link reached ada's private Discord channel (webhook from Vault) and her mailbox.
  const links = await eventually(() => {
    const posted = discord.posts.slice(postsBefore).flatMap((p) => (p.body.embeds ?? []).map((e) => e.url ?? '')).filter((u) => u.includes('/approve/'));
    return posted.length ? posted : undefined;
  }, 20_000, 'the approval link on Discord');
  assert.ok(discord.posts.slice(postsBefore).every((p) => p.path === `/webhooks/555000111/${SECRETS.webhookToken}`), 'posted to the webhook read from Vault');
  const mailed = smtp.messages.map((m) => linkIn(m.text)).filter((l): l is string => !!l);
  await secrets.executeUpdate(answerApprovalUpdate, { args: [signedAnswer(secrets.workflowId, 'review', { id: 'ada', groups: ['sre'] }, 'approve', 'ok')] });
  assert.deepEqual(await secrets.result(), { status: 200, approved: true });
  await started[0]!.result();
  return { executions: started.map((h) => ({ workflowId: h.workflowId })), links: [...new Set([...links, ...mailed])] };
}

function knownSecrets(links: string[]): KnownSecret[] {
  return [
    { label: 'Vault root token of the worker', value: VAULT_TOKEN! },
    { label: 'HTTP bearer token', value: SECRETS.httpToken },
    { label: 'HTTP API key', value: SECRETS.apiKey },
    { label: 'Discord webhook URL', value: webhookUrl },
    { label: 'Discord webhook token', value: SECRETS.webhookToken },
    { label: 'SMTP password', value: SECRETS.smtpPassword },
    { label: 'approval link secret', value: SECRETS.linkSecret },
    ...links.flatMap((l, i) => [
      { label: `approval link ${i + 1}`, value: l },
      { label: `approval link token ${i + 1}`, value: l.split('/approve/')[1]! },
    ]),
  ];
}

for (const mode of ['clear', 'encrypted'] as const) {
  describe(`history scan, payloads ${mode}`, () => {
    let env: TemporalTestEnv;
    let client: Client;
    const converter = mode === 'encrypted' ? dataConverter(keyring([generateKey('scan')])) : { payloadCodecs: [] };
    before(async () => {
      env = await temporalTestEnv();
      client = new Client({ connection: env.client.connection, namespace: env.namespace, dataConverter: converter });
      await env.startWorker({ dataConverter: converter });
    });
    after(async () => {
      await env?.close();
    });

    it('finds no secret in the histories of helloWorld, core.http, notify.send and an approval with links', async (t) => {
      const { executions, links } = await runWorkflows(env, client);
      assert.ok(links.length >= 1, 'an approval link was delivered');
      const secrets = knownSecrets(links);
      const report = await scanHistories(env.client, secrets, { executions });
      t.diagnostic(`${mode}: ${report.executions} executions, ${report.events} events, ${report.bytes} bytes scanned for ${secrets.length} secrets`);
      assert.equal(report.executions, 2);
      assert.ok(report.events > 30);
      assert.deepEqual(report.findings, [], describeFindings(report.findings));
      const input = (await rawHistory(env.client, executions[1]!.workflowId))[0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0] as Payload;
      assert.equal(isEncrypted(input), mode === 'encrypted');
    });

    it(`negative control: a secret planted in an input is ${mode === 'clear' ? 'found, raw and base64' : 'not found: the payload is encrypted'}`, async () => {
      const planted = `planted-${token()}`;
      const wrapped = `planted-b64-${token()}`;
      const def = await compileYaml(`
apiVersion: workflows.cedille.etsmtl.ca/v1alpha1
kind: WorkflowDefinition
metadata: { name: codec-planted }
spec:
  steps:
    - id: echo
      activity: core.echo
      with: { value: "\${{ inputs }}" }
`);
      const plantedId = `scan-planted-${randomUUID()}`;
      const h = await client.workflow.start('interpret', {
        taskQueue: env.taskQueue,
        workflowId: plantedId,
        args: [ticketed(plantedId, { definition: def, input: { note: `x${planted}y`, blob: Buffer.from(`xy${wrapped}`).toString('base64') } })],
      });
      await h.result();
      const report = await scanHistories(env.client, [{ label: 'planted', value: planted }, { label: 'wrapped', value: wrapped }], { executions: [{ workflowId: h.workflowId }] });
      if (mode === 'clear') {
        assert.ok(report.findings.some((f) => f.label === 'planted' && f.form === 'raw' && f.eventType === 'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED'), describeFindings(report.findings));
        assert.ok(report.findings.some((f) => f.label === 'wrapped' && f.form.startsWith('base64@')), describeFindings(report.findings));
        assert.match(describeFindings(report.findings), /planted \(raw\) in scan-planted-/);
        assert.ok(!describeFindings(report.findings).includes(planted), 'findings never print the value');
      } else {
        assert.deepEqual(report.findings, []);
      }
    });
  });
}

describe('secretForms', () => {
  it('refuses secrets too short to scan for, and renders base64 at every alignment', () => {
    assert.throws(() => secretForms('short'), /at least 8 bytes/);
    const forms = secretForms('a "quoted" secret/+?');
    const names = forms.map((f) => f.form);
    for (const f of ['raw', 'json-escaped', 'url-encoded', 'base64@0', 'base64@1', 'base64@2']) assert.ok(names.includes(f), f);
    for (let k = 0; k < 3; k++) {
      const blob = Buffer.concat([Buffer.alloc(k, 7), Buffer.from('a "quoted" secret/+?'), Buffer.from('tail')]).toString('base64');
      assert.ok(forms.some((f) => f.form.startsWith('base64') && blob.includes(f.needle.toString())), `found inside base64 at alignment ${k}`);
    }
  });
});
