import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { defineActivity, type ActivityContext } from '../define.ts';
import { linkNonce, linkUrl, signLink } from '../../api/links/token.ts';
import { loadNotifyConfig, type DirectoryEntry, type LoadedNotifyConfig } from './config.ts';
import { DeliveryError, postDiscord, smtpSender, type DiscordMessage } from './_channels.ts';
import { discordGroup, discordPersonal, email, type Notice } from './_compose.ts';

// Notifications to groups and people, by Discord webhook and e-mail (CEDILLE_NOTIFY_CONFIG, see
// config.ts); without a configuration the message is written to the worker log.
//
// Recipients (`to`): directory ids (one person) or group names (their directory members, and the
// group's Discord webhook, else the default webhook).
// Approval notices (`approval` set by the interpreter's approval steps): every person reached who
// belongs to one of the approval's groups gets a personal, single-use, signed link to the approval
// page (never the run's initiator: four-eyes), by e-mail and in their private Discord channel
// (directory `discord.webhook`); group channels get one announcement per webhook, with mentions
// and no links (a link is a credential). People reached who cannot answer (escalation
// recipients outside the approver groups) are informed without a link.
// Other notices: one message per group webhook, one e-mail per person reached, and a private
// Discord message to people named directly.
//
// Retries: every delivery has a key (`email:<id>`, `discord:<id>`, `discord-group:<groups>`); the
// keys delivered are heartbeated and remembered per idempotency key, and a retried attempt skips
// them, so a retry after a partial failure does not send twice. Transient failures (Discord 429 /
// 5xx, SMTP 4xx, network) fail the attempt as retryable once every other delivery was tried;
// permanent ones (other 4xx, SMTP 5xx) are reported in the output (or fail the activity,
// non-retryable, when nothing could be delivered). Outputs never hold links, webhook URLs or
// credentials.

const ApprovalRef = z.strictObject({
  workflowId: z.string().min(1),
  runId: z.string(),
  stepId: z.string().min(1),
  title: z.string(),
  groups: z.array(z.string()),
  deadline: z.string().describe('RFC 3339: the links expire then'),
  /** The run's verified initiator and the others who may not approve it: they get no link, no request. */
  initiator: z.string().optional(),
  excluded: z.array(z.string()).optional(),
});

const Channel = z.enum(['log', 'email', 'discord']);

const Output = z.object({
  delivered: z.array(
    z.object({
      to: z.string().describe('Directory id, or the group(s) of a group channel'),
      channel: Channel,
      link: z.boolean().optional().describe('A personal approval link was included'),
      earlierAttempt: z.boolean().optional().describe('Delivered by an earlier attempt, not sent again'),
    }),
  ),
  skipped: z.array(z.object({ to: z.string(), reason: z.string() })).default([]),
  failed: z.array(z.object({ to: z.string(), channel: Channel, error: z.string() })).default([]),
});
type Output = z.infer<typeof Output>;

interface Delivery {
  key: string;
  to: string;
  channel: 'email' | 'discord';
  link?: boolean;
  send(): Promise<void>;
}

// Keys delivered per idempotency key, for retries on this worker even if a heartbeat was lost.
const remembered = new Map<string, Set<string>>();
function remember(idempotencyKey: string): Set<string> {
  let set = remembered.get(idempotencyKey);
  if (!set) {
    set = new Set();
    remembered.set(idempotencyKey, set);
    if (remembered.size > 2_000) remembered.delete(remembered.keys().next().value!);
  }
  return set;
}

function previousAttemptKeys(): string[] {
  try {
    const details = Context.current().info.heartbeatDetails as { delivered?: unknown } | undefined;
    return Array.isArray(details?.delivered) ? details.delivered.filter((k): k is string => typeof k === 'string') : [];
  } catch {
    return []; // called outside an activity (unit tests)
  }
}

interface Input {
  to: string[];
  subject: string;
  body?: string | undefined;
  link?: string | undefined;
  kind: string;
  approval?: z.infer<typeof ApprovalRef> | undefined;
}

/** Who and what to send: the deliveries, and who is skipped and why. */
function plan(input: Input, config: LoadedNotifyConfig, ctx: Pick<ActivityContext, 'idempotencyKey' | 'signal'>): { deliveries: Delivery[]; skipped: Output['skipped']; close(): void } {
  const notice: Notice = { ...input, idempotencyKey: ctx.idempotencyKey, timeZone: config.timeZone };
  const skipped: Output['skipped'] = [];
  const reached = new Map<string, { person: DirectoryEntry; direct: boolean; viaWebhook: boolean }>();
  const webhookGroups = new Map<string, string[]>(); // webhook URL -> groups announced there
  const groupMembers = new Map<string, DirectoryEntry[]>();

  for (const target of [...new Set(input.to)]) {
    const named = config.directory.find((p) => p.id === target);
    if (named) {
      const seen = reached.get(named.id);
      reached.set(named.id, { person: named, direct: true, viaWebhook: seen?.viaWebhook ?? false });
      continue;
    }
    const members = config.directory.filter((p) => p.groups.includes(target));
    const webhook = config.discord.groups[target] ?? config.discord.default;
    if (!members.length && !webhook) {
      skipped.push({ to: target, reason: 'no directory entry, group member or webhook' });
      continue;
    }
    groupMembers.set(target, members);
    if (webhook) webhookGroups.set(webhook, [...(webhookGroups.get(webhook) ?? []), target]);
    for (const m of members) {
      const seen = reached.get(m.id);
      reached.set(m.id, { person: m, direct: seen?.direct ?? false, viaWebhook: (seen?.viaWebhook ?? false) || !!webhook });
    }
  }

  const a = input.approval;
  const mail = config.smtp ? smtpSender({ ...config.smtp, pass: config.smtpPass }) : undefined;
  const deliveries: Delivery[] = [];
  const expSec = a ? Math.floor(Date.parse(a.deadline) / 1000) : NaN;

  for (const { person, direct, viaWebhook } of reached.values()) {
    if (a && (person.subject === a.initiator || a.excluded?.includes(person.subject))) {
      skipped.push({ to: person.id, reason: 'started this run (four-eyes: no approval link, no request)' });
      continue;
    }
    let link: string | undefined;
    if (a && person.groups.some((g) => a.groups.includes(g)) && config.link.secret && Number.isFinite(expSec)) {
      const token = signLink(
        { workflowId: a.workflowId, stepId: a.stepId, approver: person.subject, groups: person.groups, exp: expSec, nonce: linkNonce(ctx.idempotencyKey, person.subject, a.stepId) },
        config.link.secret,
      );
      link = linkUrl(config.link.publicUrl, token);
    }
    let channels = 0;
    if (person.email && mail) {
      const address = person.email;
      const m = email(notice, person, link);
      const messageId = `<${createHash('sha256').update(`${ctx.idempotencyKey}|${person.id}`).digest('hex').slice(0, 32)}@cedille-workflows>`;
      deliveries.push({
        key: `email:${person.id}`,
        to: person.id,
        channel: 'email',
        ...(a ? { link: !!link } : {}),
        send: () => mail.send({ to: `"${person.name.replace(/["\\\r\n]/g, '')}" <${address}>`, ...m, messageId, headers: { 'X-Cedille-Idempotency-Key': ctx.idempotencyKey } }),
      });
      channels++;
    }
    // Private channel: personal links always; other notices when named directly or not announced in a group channel.
    const webhook = person.discord?.webhook;
    if (webhook && (a ? !!link || !viaWebhook : direct || !viaWebhook)) {
      const message = discordPersonal(notice, person, link);
      deliveries.push({ key: `discord:${person.id}`, to: person.id, channel: 'discord', ...(a ? { link: !!link } : {}), send: () => postDiscord(webhook, message, ctx.signal) });
      channels++;
    }
    if (!channels && !viaWebhook) skipped.push({ to: person.id, reason: 'no e-mail (or SMTP) and no Discord channel configured' });
  }

  for (const [webhook, groups] of webhookGroups) {
    const members = groups.flatMap((g) => groupMembers.get(g) ?? []).filter((m) => !a || (m.subject !== a.initiator && !a.excluded?.includes(m.subject)));
    const message: DiscordMessage = discordGroup(notice, groups, members);
    const label = groups.join(',');
    deliveries.push({ key: `discord-group:${label}`, to: label, channel: 'discord', send: () => postDiscord(webhook, message, ctx.signal) });
  }
  if (a && !config.link.secret) skipped.push({ to: a.stepId, reason: 'no link secret configured: approvers must answer through the API or the CLI' });
  return { deliveries, skipped, close: () => mail?.close() };
}

export default defineActivity({
  name: 'notify.send',
  description: 'Sends a notification to groups or people (Discord webhooks, e-mail; logged when no channel is configured).',
  input: z.strictObject({
    to: z.array(z.string()).min(1),
    subject: z.string(),
    body: z.string().optional(),
    link: z.string().optional(),
    kind: z.string().default('info'),
    approval: ApprovalRef.optional().describe('Set by approval steps: recipients in the approver groups get personal approval links'),
  }),
  output: Output,
  async handler(input, ctx) {
    const config = loadNotifyConfig();
    if (!config) {
      ctx.log.info(`notify[${input.kind}] to ${input.to.join(', ')}: ${input.subject}`, { body: input.body, link: input.link, key: ctx.idempotencyKey });
      return { delivered: input.to.map((t) => ({ to: t, channel: 'log' as const })), skipped: [], failed: [] };
    }
    return deliver(input, config, ctx);
  },
});

/** Sends every planned delivery not already done by an earlier attempt. Exported for tests. */
export async function deliver(input: Input, config: LoadedNotifyConfig, ctx: ActivityContext): Promise<Output> {
  const { deliveries, skipped, close } = plan(input, config, ctx);
  try {
    return await deliverAll(input, deliveries, skipped, ctx);
  } finally {
    close();
  }
}

async function deliverAll(input: Input, deliveries: Delivery[], skipped: Output['skipped'], ctx: ActivityContext): Promise<Output> {
  const done = remember(ctx.idempotencyKey);
  for (const k of previousAttemptKeys()) done.add(k);
  const out: Output = { delivered: [], skipped, failed: [] };
  const transient: DeliveryError[] = [];
  for (const d of deliveries) {
    const entry = { to: d.to, channel: d.channel, ...(d.link !== undefined ? { link: d.link } : {}) };
    if (done.has(d.key)) {
      out.delivered.push({ ...entry, earlierAttempt: true });
      continue;
    }
    try {
      await d.send();
      done.add(d.key);
      ctx.heartbeat({ delivered: [...done] });
      out.delivered.push(entry);
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      const e = err instanceof DeliveryError ? err : new DeliveryError((err as Error).message, true);
      out.failed.push({ to: d.to, channel: d.channel, error: e.message });
      if (e.retryable) transient.push(e);
    }
  }
  const summary = `notify[${input.kind}] ${input.subject}: ${out.delivered.length} delivered, ${out.failed.length} failed, ${out.skipped.length} skipped`;
  if (transient.length) {
    const delay = Math.max(0, ...transient.map((e) => e.retryAfterMs ?? 0));
    ctx.log.warn(summary, { failed: out.failed, key: ctx.idempotencyKey });
    throw ApplicationFailure.create({
      type: 'NotifyDeliveryFailed',
      message: `${out.failed.length} deliveries failed (will retry): ${out.failed.map((f) => `${f.channel} to ${f.to}: ${f.error}`).join('; ')}`,
      nonRetryable: false,
      ...(delay ? { nextRetryDelay: delay } : {}),
    });
  }
  if (out.failed.length && !out.delivered.length) {
    throw ApplicationFailure.create({
      type: 'NotifyDeliveryRefused',
      message: `no delivery succeeded: ${out.failed.map((f) => `${f.channel} to ${f.to}: ${f.error}`).join('; ')}`,
      nonRetryable: true,
    });
  }
  ctx.log.info(summary, { key: ctx.idempotencyKey });
  return out;
}
