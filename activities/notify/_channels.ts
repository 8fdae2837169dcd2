// The two delivery channels of notify.send, speaking their real wire formats:
// - Discord: POST of an execute-webhook JSON body to a webhook URL. 2xx delivered; 429 waits
//   `retry_after` (body, seconds; or the Retry-After header) inline when short, else retryable
//   with that delay; 5xx and network errors retryable; other 4xx permanent.
// - E-mail: SMTP through nodemailer. 4xx replies (and connection/timeout errors) are transient,
//   5xx replies and authentication failures permanent.
// Errors never carry the webhook URL (it holds the webhook's token) nor SMTP credentials.
// Webhook URLs and the SMTP password may be Vault references (`vault:<path>#<field>`, see
// ../_secrets.ts), read when a message is sent.
import { setTimeout as sleep } from 'node:timers/promises';
import nodemailer from 'nodemailer';
import { ApplicationFailure } from '@temporalio/common';
import { valueOrSecret } from '../_secrets.ts';

export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    /** Server-requested delay before retrying (Discord's retry_after), ms. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

export interface DiscordEmbed {
  title?: string;
  description?: string;
  url?: string;
  color?: number;
  fields?: { name: string; value: string; inline?: boolean }[];
  footer?: { text: string };
  timestamp?: string;
}

export interface DiscordMessage {
  content: string;
  embeds?: DiscordEmbed[];
  allowed_mentions: { parse: never[]; users?: string[] };
  username?: string;
}

const INLINE_RETRY_MAX_MS = 5_000;

/** A config value or the secret it references; a Vault failure is a delivery failure (retryable unless Vault said no). */
async function configSecret(what: string, value: string, signal?: AbortSignal): Promise<string> {
  try {
    return await valueOrSecret(value, signal ? { signal } : {});
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new DeliveryError(`${what}: ${(err as Error).message}`, !(err instanceof ApplicationFailure && err.nonRetryable));
  }
}

export async function postDiscord(ref: string, message: DiscordMessage, signal: AbortSignal): Promise<void> {
  const webhook = await configSecret('Discord webhook from Vault', ref, signal);
  for (let attempt = 1; ; attempt++) {
    let res: Response;
    try {
      res = await fetch(webhook, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(message),
        // Never re-posted elsewhere: the message may hold a personal approval link (a credential), and
        // Discord webhooks do not redirect. A 3xx is a refusal below.
        redirect: 'manual',
        signal: AbortSignal.any([signal, AbortSignal.timeout(10_000)]),
      });
    } catch (err) {
      if (signal.aborted) throw err;
      throw new DeliveryError(`Discord unreachable: ${(err as Error).message}`, true);
    }
    const text = await res.text().catch(() => '');
    if (res.ok) return;
    if (res.status === 429) {
      let seconds = Number(res.headers.get('retry-after'));
      try {
        const body = JSON.parse(text) as { retry_after?: unknown };
        if (typeof body.retry_after === 'number') seconds = body.retry_after;
      } catch {
        // no JSON body: keep the header's value
      }
      const ms = Number.isFinite(seconds) && seconds >= 0 ? Math.ceil(seconds * 1000) : 1_000;
      if (attempt <= 3 && ms <= INLINE_RETRY_MAX_MS) {
        await sleep(ms, undefined, { signal });
        continue;
      }
      throw new DeliveryError(`Discord rate limit: retry after ${ms} ms`, true, ms);
    }
    const detail = text.replace(/\s+/g, ' ').slice(0, 200);
    if (res.status >= 500) throw new DeliveryError(`Discord answered ${res.status}${detail ? `: ${detail}` : ''}`, true);
    throw new DeliveryError(`Discord refused the message (${res.status})${detail ? `: ${detail}` : ''}`, false);
  }
}

export interface SmtpSettings {
  host: string;
  port: number;
  secure: boolean;
  requireTLS: boolean;
  from: string;
  auth?: { user: string } | undefined;
  pass: string | undefined;
  timeoutMs: number;
}

export interface Email {
  to: string;
  subject: string;
  text: string;
  html: string;
  messageId: string;
  headers: Record<string, string>;
}

export function smtpSender(settings: SmtpSettings): { send(mail: Email): Promise<void>; close(): void } {
  // Created on the first message: the password may have to be read from Vault first.
  let transport: ReturnType<typeof nodemailer.createTransport> | undefined;
  const connect = async () => {
    const pass = settings.auth ? await configSecret('SMTP password from Vault', settings.pass ?? '') : '';
    return nodemailer.createTransport({
      host: settings.host,
      port: settings.port,
      secure: settings.secure,
      requireTLS: settings.requireTLS,
      ...(settings.auth ? { auth: { user: settings.auth.user, pass } } : {}),
      connectionTimeout: settings.timeoutMs,
      greetingTimeout: settings.timeoutMs,
      socketTimeout: settings.timeoutMs,
    });
  };
  return {
    async send(mail) {
      transport ??= await connect();
      try {
        await transport.sendMail({ from: settings.from, ...mail });
      } catch (err) {
        const e = err as Error & { responseCode?: number; code?: string; response?: string };
        const reply = e.responseCode ? ` (${e.responseCode}${e.response ? ` ${e.response.slice(0, 200)}` : ''})` : '';
        const message = `SMTP: ${e.message.slice(0, 300)}${reply && !e.message.includes(String(e.responseCode)) ? reply : ''}`;
        if (e.responseCode) throw new DeliveryError(message, e.responseCode >= 400 && e.responseCode < 500);
        if (e.code === 'EAUTH' || e.code === 'EENVELOPE' || e.code === 'EMESSAGE') throw new DeliveryError(message, false);
        // Connection, DNS, TLS and timeout errors (ECONNECTION, ETIMEDOUT, ESOCKET, EDNS...): transient.
        throw new DeliveryError(message, true);
      }
    },
    close: () => transport?.close(),
  };
}
