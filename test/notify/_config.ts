// The approver directory and channels of the notification tests, pointing at the local servers.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DiscordReceiver, SmtpCapture } from './_servers.ts';

export const SECRET = 'notify-test-link-secret-0123456789';
export const PUBLIC_URL = 'http://approvals.test';

/** The directory and channels the tests use; `discord` and `smtp` are the local servers; `extra` entries join the directory. */
export function notifyConfigFile(discord: DiscordReceiver, smtp: SmtpCapture, dir = mkdtempSync(join(tmpdir(), 'cedille-notify-')), extra: object[] = []): string {
  const file = join(dir, 'notify.json');
  writeFileSync(
    file,
    JSON.stringify({
      directory: [
        { id: 'edith', subject: 'edith', name: 'Édith Tremblay', email: 'edith@ets.test', discord: { userId: '100000000000000001', webhook: `${discord.url}/webhooks/edith` }, groups: ['ets-it'] },
        { id: 'ada', subject: 'ada', name: 'Ada Lovelace', email: 'ada@cedille.test', discord: { userId: '100000000000000002', webhook: `${discord.url}/webhooks/ada` }, groups: ['sre'] },
        { id: 'grace', subject: 'grace', name: 'Grace Hopper', email: 'grace@cedille.test', groups: ['sre'] },
        { id: 'alice', subject: 'alice', name: 'Alice Admin', email: 'alice@cedille.test', discord: { userId: '100000000000000004', webhook: `${discord.url}/webhooks/alice` }, groups: ['sre'] },
        { id: 'manny', subject: 'manny', name: 'Manny Manager', email: 'manny@ets.test', groups: ['managers'] },
        ...extra,
      ],
      discord: { groups: { sre: `${discord.url}/webhooks/sre` }, default: `${discord.url}/webhooks/default` },
      smtp: { host: '127.0.0.1', port: smtp.port, secure: false, from: 'Cédille Workflows <workflows@cedille.test>', auth: { user: 'robot', pass: 'smtp-password-never-shown' } },
      publicUrl: PUBLIC_URL,
      linkSecret: SECRET,
    }),
  );
  return file;
}
