// A Discord webhook that answers with a redirect: the message (which may hold a personal approval
// link) is not re-posted to the redirect's target; the delivery is a permanent refusal.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { DeliveryError, postDiscord } from '../../activities/notify/_channels.ts';
import { localServer, type LocalServer } from '../activities/_support.ts';

let webhook: LocalServer;
let elsewhere: LocalServer;

before(async () => {
  elsewhere = await localServer((_req, res) => void res.writeHead(204).end());
  webhook = await localServer((_req, res) => void res.writeHead(307, { location: elsewhere.url('/collect') }).end());
});
after(async () => {
  await Promise.all([webhook?.close(), elsewhere?.close()]);
});

it('does not follow a webhook redirect: the target receives nothing, the delivery is refused', async () => {
  const err = await postDiscord(webhook.url('/api/webhooks/1/token'), { content: 'approve: http://approvals.test/a/secret-link', allowed_mentions: { parse: [] } }, new AbortController().signal).then(
    () => assert.fail('expected a refusal'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof DeliveryError, String(err));
  assert.equal(err.retryable, false);
  assert.match(err.message, /Discord refused the message \(307\)/);
  assert.equal(webhook.requests.length, 1);
  assert.deepEqual(elsewhere.requests, []);
});
