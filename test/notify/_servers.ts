// Local stand-ins speaking the real wire formats: a Discord webhook receiver (node:http on
// 127.0.0.1, records each execute-webhook body by path, can answer 429 with retry_after or 5xx
// first) and an SMTP server (smtp-server on 127.0.0.1, no TLS, captures each message).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface DiscordPost {
  path: string;
  body: {
    content: string;
    embeds?: { title?: string; description?: string; url?: string; fields?: { name: string; value: string }[]; footer?: { text: string }; timestamp?: string }[];
    allowed_mentions?: { parse?: string[]; users?: string[] };
  };
  at: number;
}

export interface DiscordReceiver {
  url: string;
  posts: DiscordPost[];
  /** Queue answers for a path (or '*'): each request takes the next, then 204. */
  failNext(path: string, ...answers: { status: number; retryAfter?: number }[]): void;
  /** Requests seen, accepted or not. */
  attempts: { path: string; status: number }[];
  close(): Promise<void>;
}

export async function discordReceiver(): Promise<DiscordReceiver> {
  const posts: DiscordPost[] = [];
  const attempts: { path: string; status: number }[] = [];
  const queued = new Map<string, { status: number; retryAfter?: number }[]>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0]!;
      const next = queued.get(path)?.shift() ?? queued.get('*')?.shift();
      if (req.method !== 'POST' || req.headers['content-type'] !== 'application/json') {
        attempts.push({ path, status: 400 });
        res.writeHead(400, { 'content-type': 'application/json' }).end('{"message":"Cannot send an empty message","code":50006}');
        return;
      }
      if (next) {
        attempts.push({ path, status: next.status });
        if (next.status === 429) {
          res.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(Math.ceil(next.retryAfter ?? 1)) });
          res.end(JSON.stringify({ message: 'You are being rate limited.', retry_after: next.retryAfter ?? 1, global: false }));
        } else {
          res.writeHead(next.status, { 'content-type': 'application/json' }).end('{"message":"error"}');
        }
        return;
      }
      attempts.push({ path, status: 204 });
      posts.push({ path, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as DiscordPost['body'], at: Date.now() });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    posts,
    attempts,
    failNext(path, ...answers) {
      queued.set(path, [...(queued.get(path) ?? []), ...answers]);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface CapturedMail {
  from: string;
  to: string[];
  raw: string;
  subject: string;
  /** The text/plain part, decoded enough to find links (quoted-printable soft breaks removed). */
  text: string;
}

export interface SmtpCapture {
  port: number;
  messages: CapturedMail[];
  /** Reject the next N messages to `rcpt` with this SMTP reply code (451: transient, 550: permanent). */
  rejectNext(rcpt: string, code: number, times?: number): void;
  close(): Promise<void>;
}

function decodeQuotedPrintable(s: string): string {
  return Buffer.from(
    s.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16))),
    'latin1',
  ).toString('utf8');
}

function textPart(raw: string): string {
  const boundary = /boundary="?([^";\r\n]+)"?/i.exec(raw)?.[1];
  const parts = boundary ? raw.split(`--${boundary}`) : [raw];
  const part = parts.find((p) => /Content-Type: text\/plain/i.test(p)) ?? raw;
  const split = part.search(/\r?\n\r?\n/);
  const headers = split >= 0 ? part.slice(0, split) : '';
  const body = split >= 0 ? part.slice(split).replace(/^\r?\n\r?\n/, '') : part;
  const encoding = /Content-Transfer-Encoding: ([^\r\n]+)/i.exec(headers)?.[1] ?? '';
  if (/quoted-printable/i.test(encoding)) return decodeQuotedPrintable(body);
  if (/base64/i.test(encoding)) return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  return body;
}

export async function smtpCapture(): Promise<SmtpCapture> {
  const messages: CapturedMail[] = [];
  const rejections = new Map<string, { code: number; times: number }>();
  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS', 'AUTH'],
    authOptional: true,
    logger: false,
    onRcptTo(address, _session, callback) {
      const r = rejections.get(address.address);
      if (r && r.times > 0) {
        r.times--;
        const err = new Error(r.code >= 500 ? 'mailbox unavailable' : 'try again later') as Error & { responseCode: number };
        err.responseCode = r.code;
        return callback(err);
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const subject = /^Subject: (.*(?:\r?\n[ \t].*)*)/im.exec(raw)?.[1]?.replace(/\r?\n[ \t]/g, ' ') ?? '';
        messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
          subject,
          text: textPart(raw),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    port,
    messages,
    rejectNext(rcpt, code, times = 1) {
      rejections.set(rcpt, { code, times });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The first approval link in a text. */
export function linkIn(text: string): string | undefined {
  return /https?:\/\/[^\s"<>]+\/approve\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/.exec(text)?.[0];
}
