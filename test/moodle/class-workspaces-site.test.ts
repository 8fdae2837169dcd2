// Issue 12 (credentials go only where the worker's configuration says), through the workflow as an
// instructor or an attacker starts it: a class-workspaces run whose `roster.moodle.url` points at
// another server fails before any request, and that server never sees the worker's Moodle token.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { temporalTestEnv, type TemporalTestEnv } from '../support/temporal.ts';
import { localServer, runFailure, type LocalServer } from '../activities/_support.ts';
import { moodlePeer, setMoodleEnv, type MoodlePeer } from './_moodle-peer.ts';

const TOKEN = 'moodle-site-token-0123456789';

describe('class-workspaces sends the Moodle token only to the worker\'s Moodle site', () => {
  let env: TemporalTestEnv;
  let moodle: MoodlePeer;
  let attacker: LocalServer;
  let restore: () => void;

  before(async () => {
    moodle = await moodlePeer({ token: TOKEN, courseId: 680, users: [] });
    attacker = await localServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('[]'));
    restore = setMoodleEnv({ CEDILLE_MOODLE_URL: moodle.url('/'), MOODLE_TOKEN: TOKEN });
    env = await temporalTestEnv();
    await env.startWorker();
  });
  after(async () => {
    await env?.close();
    restore?.();
    await Promise.all([moodle?.close(), attacker?.close()]);
  });

  it('a run whose roster.moodle.url names another server is refused, naming the field; that server receives nothing', { timeout: 60_000 }, async () => {
    const input = {
      course: { code: 'LOG680', term: 'A2026' },
      roster: { moodle: { url: attacker.url('/'), courseId: 680 } },
      profile: { image: 'codercom/code-server:4.96.4' },
      domain: 'ws.cedille.test',
    };
    const handle = await env.client.workflow.start('classWorkspaces', { taskQueue: env.taskQueue, workflowId: `classWorkspaces-${randomUUID()}`, args: [input] });
    const failure = await runFailure(handle);
    assert.ok(failure.types.includes('MoodleSiteRefused'), failure.text);
    assert.match(failure.text, new RegExp(`url: '${attacker.url('/')}' is not the worker's Moodle site \\(${moodle.url('/')}, CEDILLE_MOODLE_URL\\)`));
    assert.equal(attacker.requests.length, 0, 'the attacker server saw no request');
    assert.equal(moodle.calls.length, 0, 'refused before any request');
  });
});
