// What people read: e-mails (text + simple HTML) and Discord messages for approval requests,
// reminders, escalations and plain notices. Every message names the notification's idempotency
// key in its footer, so a duplicate (should one ever get through) is recognisable as such.
import { html, raw } from '../../api/views/html.ts';
import { formatWhen, prettyDetails, truncate } from './_format.ts';
import type { DiscordMessage } from './_channels.ts';
import type { DirectoryEntry } from './config.ts';

export interface ApprovalRef {
  workflowId: string;
  runId: string;
  stepId: string;
  title: string;
  groups: string[];
  deadline: string;
  initiator?: string | undefined;
}

export interface Notice {
  subject: string;
  body?: string | undefined;
  link?: string | undefined;
  kind: string;
  approval?: ApprovalRef | undefined;
  idempotencyKey: string;
  timeZone: string;
}

const COLORS: Record<string, number> = { 'approval-request': 0x2b6cb0, 'approval-reminder': 0xd69e2e, 'approval-escalation': 0xc53030, warning: 0xd69e2e, error: 0xc53030 };

function intro(n: Notice): string {
  switch (n.kind) {
    case 'approval-reminder':
      return 'Reminder: this request is still waiting for an answer.';
    case 'approval-escalation':
      return 'Escalation: this request is still waiting for an answer.';
    default:
      return n.approval ? 'Your approval is requested.' : '';
  }
}

function footer(n: Notice): string {
  return `Cédille Workflows · ${n.approval ? `run ${n.approval.workflowId} · ` : ''}ref ${n.idempotencyKey}`;
}

export function email(n: Notice, to: DirectoryEntry, personalLink: string | undefined): { subject: string; text: string; html: string } {
  const details = prettyDetails(n.body);
  const a = n.approval;
  const lines: string[] = [`Hello ${to.name},`, ''];
  const lead = intro(n);
  if (lead) lines.push(lead, '');
  if (a) {
    lines.push(`What: ${a.title}`);
    if (a.initiator) lines.push(`Requested by: ${a.initiator}`);
    lines.push(`Answer before: ${formatWhen(a.deadline, n.timeZone)}`, `Approver groups: ${a.groups.join(', ')}`, '');
  } else {
    lines.push(n.subject, '');
  }
  if (details) lines.push('Details:', details, '');
  if (personalLink) {
    lines.push('Review it and approve or reject here (this link is personal and works once):', personalLink, '');
  } else if (a) {
    lines.push('You are informed of this request; the approvers received their own links.', '');
  }
  if (n.link) lines.push(`More: ${n.link}`, '');
  lines.push('--', footer(n));

  const body = html`<!doctype html><html><body style="font-family:system-ui,Segoe UI,Arial,sans-serif;color:#1a202c;max-width:640px">
<p>Hello ${to.name},</p>
${lead ? html`<p>${lead}</p>` : ''}
${a
    ? html`<table cellpadding="4" style="border-collapse:collapse">
<tr><th align="left">What</th><td>${a.title}</td></tr>
${a.initiator ? html`<tr><th align="left">Requested by</th><td>${a.initiator}</td></tr>` : ''}
<tr><th align="left">Answer before</th><td>${formatWhen(a.deadline, n.timeZone)}</td></tr>
<tr><th align="left">Approver groups</th><td>${a.groups.join(', ')}</td></tr>
</table>`
    : html`<p><strong>${n.subject}</strong></p>`}
${details ? html`<p><strong>Details</strong></p><pre style="background:#f7fafc;border:1px solid #e2e8f0;padding:8px;white-space:pre-wrap">${details}</pre>` : ''}
${personalLink
    ? html`<p><a href="${personalLink}" style="display:inline-block;background:#2b6cb0;color:#fff;padding:10px 16px;border-radius:4px;text-decoration:none">Review and answer</a></p>
<p style="font-size:90%">This link is personal and works once: ${personalLink}</p>`
    : a
      ? raw('<p>You are informed of this request; the approvers received their own links.</p>')
      : ''}
${n.link ? html`<p>More: <a href="${n.link}">${n.link}</a></p>` : ''}
<p style="color:#718096;font-size:85%">${footer(n)}</p>
</body></html>`;
  return { subject: n.subject, text: lines.join('\n'), html: body.value };
}

function detailsBlock(n: Notice, max: number): string {
  const details = prettyDetails(n.body);
  if (!details) return '';
  const looksJson = /^[[{]/.test(details);
  return `\`\`\`${looksJson ? 'json' : ''}\n${truncate(details.replace(/```/g, "'''"), max)}\n\`\`\``;
}

function approvalFields(n: Notice): { name: string; value: string; inline?: boolean }[] {
  const a = n.approval!;
  return [
    { name: 'Deadline', value: truncate(formatWhen(a.deadline, n.timeZone), 1024), inline: true },
    { name: 'Requested by', value: truncate(a.initiator ?? 'unknown', 1024), inline: true },
    { name: 'Approver groups', value: truncate(a.groups.join(', ') || '-', 1024), inline: true },
  ];
}

/** To one person's private channel: their personal link (approvals) or the notice. */
export function discordPersonal(n: Notice, to: DirectoryEntry, personalLink: string | undefined): DiscordMessage {
  const mention = to.discord?.userId ? `<@${to.discord.userId}> ` : '';
  const a = n.approval;
  const lead = intro(n) || n.subject;
  const description = [a && personalLink ? 'Open the link to review and approve or reject (personal, works once).' : '', detailsBlock(n, 3000)].filter(Boolean).join('\n\n');
  return {
    content: truncate(`${mention}${lead}`, 2000),
    embeds: [
      {
        title: truncate(a ? a.title : n.subject, 256),
        ...(description ? { description: truncate(description, 4096) } : {}),
        ...(personalLink ? { url: personalLink } : n.link ? { url: n.link } : {}),
        ...(COLORS[n.kind] ? { color: COLORS[n.kind] } : {}),
        ...(a ? { fields: approvalFields(n) } : {}),
        footer: { text: truncate(footer(n), 2048) },
        timestamp: new Date().toISOString(),
      },
    ],
    allowed_mentions: { parse: [], ...(to.discord?.userId ? { users: [to.discord.userId] } : {}) },
  };
}

/**
 * To a shared group channel: the notice, with mentions of the group's members. For approvals it
 * never carries personal links (anyone in the channel could use them); it says where they went.
 */
export function discordGroup(n: Notice, groups: string[], members: DirectoryEntry[]): DiscordMessage {
  const ids = [...new Set(members.map((m) => m.discord?.userId).filter((id): id is string => !!id))].slice(0, 100);
  const mentions = ids.map((id) => `<@${id}>`).join(' ');
  const a = n.approval;
  const lead = a ? `${intro(n)} (${groups.join(', ')})` : n.subject;
  const description = [
    a ? 'Each approver received a personal link by e-mail or private message; the CLI and the API work too.' : '',
    detailsBlock(n, 3000),
  ]
    .filter(Boolean)
    .join('\n\n');
  return {
    content: truncate([mentions, lead].filter(Boolean).join(' '), 2000),
    embeds: [
      {
        title: truncate(a ? a.title : n.subject, 256),
        ...(description ? { description: truncate(description, 4096) } : {}),
        ...(n.link ? { url: n.link } : {}),
        ...(COLORS[n.kind] ? { color: COLORS[n.kind] } : {}),
        ...(a ? { fields: approvalFields(n) } : {}),
        footer: { text: truncate(footer(n), 2048) },
        timestamp: new Date().toISOString(),
      },
    ],
    allowed_mentions: { parse: [], ...(ids.length ? { users: ids } : {}) },
  };
}
