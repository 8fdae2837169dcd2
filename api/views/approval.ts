// The approval page people open from their personal link: plain server-rendered HTML, readable
// without knowing Temporal or YAML (what is asked, by whom, until when, what others said), one
// form (comment + Approve / Reject). Every value is escaped by `html`.
import { html, raw, type Html } from './html.ts';
import { formatWhen } from '../../activities/notify/_format.ts';
import type { ApprovalDecision } from '../../workflows/interpreter/graph.ts';

const STYLE = raw(`
  *{box-sizing:border-box}
  body{font-family:system-ui,"Segoe UI",Roboto,Arial,sans-serif;background:#f4f6f8;color:#1a202c;margin:0;line-height:1.5}
  main{max-width:760px;margin:32px auto;background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.12);padding:28px 32px}
  header.brand{color:#4a5568;font-size:14px;letter-spacing:.04em;text-transform:uppercase;margin-bottom:8px}
  h1{font-size:24px;margin:0 0 16px}
  dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:6px 18px;margin:0 0 20px}
  dl.facts dt{font-weight:600;color:#4a5568}
  dl.facts dd{margin:0;word-break:break-word}
  dl.facts.details{background:#f7fafc;border:1px solid #e2e8f0;border-radius:6px;padding:12px}
  h2{font-size:17px;margin:24px 0 8px}
  pre.details{background:#f7fafc;border:1px solid #e2e8f0;border-radius:6px;padding:12px;white-space:pre-wrap;word-break:break-word;font-size:14px;max-height:480px;overflow:auto}
  h3{font-size:15px;margin:16px 0 6px}
  pre.diff{background:#fff;border:1px solid #e2e8f0;border-radius:6px;padding:8px 0;font-size:13px;line-height:1.4;max-height:640px;overflow:auto;margin:0}
  pre.diff span{display:block;padding:0 12px;white-space:pre}
  pre.diff .file{background:#edf2f7;font-weight:600;margin-top:6px}
  pre.diff .hunk{color:#6b46c1;background:#faf5ff}
  pre.diff .add{background:#f0fff4;color:#22543d}
  pre.diff .del{background:#fff5f5;color:#742a2a}
  table.decisions{border-collapse:collapse;width:100%;font-size:15px}
  table.decisions th,table.decisions td{border-bottom:1px solid #e2e8f0;text-align:left;padding:6px 8px;vertical-align:top}
  .muted{color:#718096}
  label{display:block;font-weight:600;margin:20px 0 6px}
  textarea{width:100%;min-height:90px;font:inherit;padding:8px;border:1px solid #cbd5e0;border-radius:6px}
  .buttons{display:flex;gap:12px;margin-top:16px}
  button{font:inherit;font-weight:600;padding:10px 22px;border-radius:6px;border:0;cursor:pointer;color:#fff}
  button.approve{background:#2f855a}
  button.reject{background:#c53030}
  .banner{border-radius:6px;padding:14px 16px;margin:0 0 16px;font-size:17px}
  .banner.ok{background:#f0fff4;border:1px solid #9ae6b4}
  .banner.warn{background:#fffaf0;border:1px solid #fbd38d}
  .banner.bad{background:#fff5f5;border:1px solid #feb2b2}
  .banner.info{background:#ebf8ff;border:1px solid #90cdf4}
  footer{margin-top:28px;font-size:13px;color:#718096}
`);

export function layout(title: string, body: Html): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>${title} · Cédille Workflows</title>
<style>${STYLE}</style>
</head>
<body><main>
<header class="brand">Cédille Workflows · approval</header>
${body}
<footer>This page was opened from a personal link. Do not forward it: whoever has it answers in your name.</footer>
</main></body>
</html>`.value;
}

export type Tone = 'ok' | 'warn' | 'bad' | 'info';

/** A page with one message (errors, outcomes). */
export function messagePage(heading: string, message: string | Html, tone: Tone, extra?: Html): string {
  return layout(heading, html`<h1>${heading}</h1><div class="banner ${tone}">${message}</div>${extra ?? ''}`);
}

export interface ApprovalModel {
  title: string;
  details?: string | undefined;
  initiator?: string | undefined;
  definition: string;
  /** The definition's description (or title), when the API knows it. */
  definitionAbout?: string | undefined;
  runId: string;
  deadline: string;
  timeZone: string;
  groups: string[];
  pendingGroups: string[];
  quorum: number;
  decisions: ApprovalDecision[];
  outcome?: 'approved' | 'rejected' | 'expired' | undefined;
  approver: { id: string; name: string; groups: string[] };
  /** Names of directory people by id, for the decisions table. */
  names: Record<string, string>;
  /** Hidden per-render form nonce. */
  formNonce: string;
}

function decisionWord(d: 'approve' | 'reject'): string {
  return d === 'approve' ? 'Approved' : 'Rejected';
}

function decisionsTable(m: ApprovalModel): Html {
  if (!m.decisions.length) return html`<p class="muted">Nobody has answered yet.</p>`;
  return html`<table class="decisions"><thead><tr><th>Who</th><th>Answer</th><th>When</th><th>Comment</th></tr></thead><tbody>
${m.decisions.map(
    (d) => html`<tr><td>${m.names[d.approver] ?? d.approver}</td><td>${decisionWord(d.decision)}</td><td>${formatWhen(d.at, m.timeZone)}</td><td>${d.comment ?? ''}</td></tr>`,
  )}
</tbody></table>`;
}

function facts(m: ApprovalModel): Html {
  const from = m.groups.length > 1 ? `members of ${m.groups.slice(0, -1).join(', ')} or ${m.groups.at(-1)}` : `a member of ${m.groups[0] ?? '?'}`;
  const needed = m.quorum > 1 ? `${m.quorum} approvals from ${from}` : `one approval from ${from}`;
  return html`<dl class="facts">
<dt>Requested by</dt><dd>${m.initiator ?? 'unknown'}</dd>
<dt>Answer before</dt><dd>${formatWhen(m.deadline, m.timeZone)}</dd>
<dt>Needs</dt><dd>${needed}</dd>
<dt>Workflow</dt><dd>${m.definitionAbout ? html`${m.definitionAbout}<br>` : ''}<span class="muted">${m.definition}, run ${m.runId}</span></dd>
<dt>You</dt><dd>${m.approver.name} <span class="muted">(${m.approver.groups.join(', ') || 'no group'})</span></dd>
</dl>`;
}

/** `pullRequest` -> `Pull request`, `dry_run` -> `Dry run`. */
function label(key: string): string {
  const words = key.replace(/[_-]+/g, ' ').replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase().trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** A unified diff (what a pull request shows): starts with `diff --git` or has `@@` hunk headers. */
function isUnifiedDiff(text: string): boolean {
  return /^diff --git /m.test(text) || (/^--- /m.test(text) && /^@@ .* @@/m.test(text));
}

/** A unified diff with added/removed lines, hunk and file headers told apart (colours), one span per line. */
function diffBlock(text: string): Html {
  const lines = text.replace(/\n$/, '').split('\n');
  const cls = (l: string) =>
    /^(diff --git|index |--- |\+\+\+ |new file mode|deleted file mode)/.test(l) ? 'file' : l.startsWith('@@') ? 'hunk' : l.startsWith('+') ? 'add' : l.startsWith('-') ? 'del' : 'ctx';
  return html`<pre class="diff">${lines.map((l) => html`<span class="${cls(l)}">${l || ' '}</span>`)}</pre>`;
}

/**
 * Flat JSON objects as a list of labelled values, where multi-line texts (a rendered diff, a plan)
 * follow as their own preformatted blocks (a diff coloured line by line); anything else as
 * preformatted text (JSON pretty-printed).
 */
function detailsBlock(details: string | undefined): Html {
  if (!details) return html`<p class="muted">The request came without details.</p>`;
  let value: unknown;
  try {
    value = JSON.parse(details);
  } catch {
    value = undefined;
  }
  const entries = value && typeof value === 'object' && !Array.isArray(value) ? Object.entries(value) : [];
  if (entries.length && entries.every(([, v]) => v === null || ['string', 'number', 'boolean'].includes(typeof v))) {
    const long = (v: unknown) => typeof v === 'string' && v.includes('\n');
    const short = entries.filter(([, v]) => !long(v));
    const blocks = entries.filter(([, v]) => long(v)) as [string, string][];
    return html`${short.length ? html`<dl class="facts details">${short.map(([k, v]) => html`<dt>${label(k)}</dt><dd>${String(v)}</dd>`)}</dl>` : ''}
${blocks.map(([k, v]) => html`<h3>${label(k)}</h3>${isUnifiedDiff(v) ? diffBlock(v) : html`<pre class="details">${v}</pre>`}`)}`;
  }
  const text = typeof value === 'string' ? value : value === undefined ? details : undefined;
  if (text !== undefined && isUnifiedDiff(text)) return diffBlock(text);
  return html`<pre class="details">${details}</pre>`;
}

export function approvalPage(m: ApprovalModel): string {
  const mine = m.decisions.find((d) => d.approver === m.approver.id);
  let action: Html;
  if (m.outcome) {
    action = html`<div class="banner ${m.outcome === 'approved' ? 'ok' : 'bad'}">This request is already ${m.outcome}; no answer is needed any more.</div>`;
  } else if (mine) {
    action = html`<div class="banner info">You already answered: ${decisionWord(mine.decision).toLowerCase()}.</div>`;
  } else {
    action = html`<form method="post" action="">
<input type="hidden" name="form" value="${m.formNonce}">
<label for="comment">Comment (optional, recorded with your answer)</label>
<textarea id="comment" name="comment" maxlength="2000" placeholder="Why you approve or reject, conditions, questions…"></textarea>
<div class="buttons">
<button class="approve" type="submit" name="decision" value="approve">Approve</button>
<button class="reject" type="submit" name="decision" value="reject">Reject</button>
</div>
</form>`;
  }
  return layout(
    m.title,
    html`<h1>${m.title}</h1>
${facts(m)}
<h2>What you are asked to approve</h2>
${detailsBlock(m.details)}
<h2>Answers so far</h2>
${decisionsTable(m)}
${action}`,
  );
}
