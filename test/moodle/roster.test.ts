// The Moodle client and roster checks: the real HTTP client against a local server speaking Moodle's
// REST web service format (paging, groups, active enrolments, error objects), and CSV rosters with
// the problems instructors actually upload.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import moodleRoster from '../../activities/moodle/roster.ts';
import normalize, { MAX_ROSTER } from '../../activities/roster/normalize.ts';
import { moodleForm } from '../../activities/moodle/_client.ts';
import { callActivity } from '../activities/_support.ts';
import { moodlePeer, type MoodlePeer, type PeerUser } from './_moodle-peer.ts';

const TOKEN = 'moodle-test-token-0123456789';

function users(n: number): PeerUser[] {
  return Array.from({ length: n }, (_, i) => ({
    id: 1000 + i,
    username: `aa${String(i).padStart(5, '0')}`,
    firstname: i % 7 === 0 ? 'Zoé' : 'Étudiant',
    lastname: `Numéro ${i}`,
    email: `etudiant${i}@ens.etsmtl.ca`,
    groups: [i % 2 === 0 ? 1 : 2],
    active: i % 10 !== 9,
  }));
}

async function failure(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(err)}`);
  return err;
}

describe('moodle.roster against a Moodle-speaking server', () => {
  let peer: MoodlePeer;
  before(async () => {
    peer = await moodlePeer({ token: TOKEN, courseId: 42, users: users(450) });
    process.env.MOODLE_TEST_TOKEN = TOKEN;
  });
  after(() => peer.close());

  it('pages through active students of one group', async () => {
    const out = (await callActivity(moodleRoster, { url: peer.url('/'), courseId: 42, groupId: 1, tokenEnv: 'MOODLE_TEST_TOKEN', pageSize: 100 })) as { students: { id: string; email?: string }[]; pages: number };
    const expected = peer.users.filter((u) => u.active && u.groups.includes(1));
    assert.equal(out.students.length, expected.length);
    assert.equal(out.pages, Math.floor(expected.length / 100) + 1);
    assert.deepEqual(out.students[0], { id: '1000', username: 'aa00000', firstName: 'Zoé', lastName: 'Numéro 0', email: 'etudiant0@ens.etsmtl.ca' });
    const first = peer.calls.at(-1)!.params;
    assert.equal(first.wsfunction, 'core_enrol_get_enrolled_users');
    assert.equal(first.moodlewsrestformat, 'json');
    assert.equal(first.courseid, '42');
  });

  it('encodes nested parameters in Moodle bracket notation', () => {
    assert.equal(decodeURIComponent(moodleForm({ courseid: 1, options: [{ name: 'groupid', value: 3 }], flag: true }).toString()), 'courseid=1&options[0][name]=groupid&options[0][value]=3&flag=1');
  });

  it('an invalid token is a non-retryable MoodleAuth failure with Moodle\'s message', async () => {
    process.env.MOODLE_BAD_TOKEN = 'nope';
    const err = await failure(callActivity(moodleRoster, { url: peer.url('/'), courseId: 42, tokenEnv: 'MOODLE_BAD_TOKEN' }));
    assert.equal(err.type, 'MoodleAuth');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, /invalidtoken: Invalid token - token not found/);
  });

  it('a missing token variable says which one to set', async () => {
    const err = await failure(callActivity(moodleRoster, { url: peer.url('/'), courseId: 42, tokenEnv: 'MOODLE_UNSET_TOKEN' }));
    assert.match(err.message, /MOODLE_UNSET_TOKEN/);
  });

  it('an unknown course is a non-retryable MoodleError', async () => {
    const err = await failure(callActivity(moodleRoster, { url: peer.url('/'), courseId: 7, tokenEnv: 'MOODLE_TEST_TOKEN' }));
    assert.equal(err.type, 'MoodleError');
    assert.equal(err.nonRetryable, true);
  });

  it('a Moodle in maintenance (HTTP 503) or unreachable is retryable', async () => {
    peer.failNext(1);
    const err = await failure(callActivity(moodleRoster, { url: peer.url('/'), courseId: 42, tokenEnv: 'MOODLE_TEST_TOKEN' }));
    assert.equal(err.type, 'MoodleUnavailable');
    assert.equal(err.nonRetryable, false);
    const down = await failure(callActivity(moodleRoster, { url: 'http://127.0.0.1:9/', courseId: 42, tokenEnv: 'MOODLE_TEST_TOKEN' }));
    assert.equal(down.type, 'MoodleUnavailable');
  });
});

describe('roster.normalize', () => {
  type Out = { students: { id: string; name: string; email: string; username?: string }[]; problems: { row: number; field: string; message: string }[]; total: number; accepted: number; rejected: number };
  const check = (input: unknown) => callActivity(normalize, input) as Promise<Out>;

  it('reads French headers, semicolons and a BOM; normalises e-mails and accents', async () => {
    const csv = '\uFEFFMatricule;Prénom;Nom;Courriel\nAB12345;Zoé;Tremblay; Zoe.Tremblay@ETSMTL.ca \n';
    const out = await check({ csv });
    assert.deepEqual(out.students, [{ id: 'AB12345', name: 'Zoé Tremblay', email: 'zoe.tremblay@etsmtl.ca' }]);
    assert.equal(out.rejected, 0);
  });

  it('rejects rows with a missing or invalid e-mail, duplicates and unreadable characters, naming row and field', async () => {
    const csv = [
      'id,first name,last name,email',
      's1,Ada,Lovelace,ada@etsmtl.ca',
      's2,Alan,Turing,',
      's3,Grace,Hopper,grace-at-etsmtl.ca',
      's1,Ada,Again,ada2@etsmtl.ca',
      's4,Ada,Copy,ADA@etsmtl.ca',
      's5,Bad\u0007Char,X,bad@etsmtl.ca',
      's6,Mojibake\uFFFD,Y,moji@etsmtl.ca',
      's7,Linus,Torvalds,linus@etsmtl.ca',
    ].join('\n');
    const out = await check({ csv });
    assert.deepEqual(out.students.map((s) => s.id), ['s1', 's7']);
    assert.deepEqual(
      out.problems.map((p) => [p.row, p.field, p.message.split(' (')[0]]),
      [
        [3, 'email', 'missing e-mail'],
        [4, 'email', "'grace-at-etsmtl.ca' is not an e-mail address"],
        [5, 'id', 'duplicate of row 2'],
        [6, 'email', 'duplicate of row 2'],
        [7, 'firstName', 'contains control or unreadable characters'],
        [8, 'firstName', 'contains control or unreadable characters'],
      ],
    );
    assert.deepEqual([out.total, out.accepted, out.rejected], [8, 2, 6]);
  });

  it('an empty class fails with EmptyRoster, whether no rows or no usable row', async () => {
    assert.equal((await failure(check({ csv: 'email\n' }))).type, 'EmptyRoster');
    const none = await failure(check({ csv: 'email\nnot-an-email\n' }));
    assert.equal(none.type, 'EmptyRoster');
    assert.match(none.message, /row 2 email/);
  });

  it('a CSV without an e-mail column is refused with the header it saw', async () => {
    const err = await failure(check({ csv: 'name\nAda\n' }));
    assert.equal(err.type, 'InvalidRoster');
    assert.match(err.message, /no e-mail column \(header: name\)/);
  });

  it('accepts Moodle students and needs exactly one source', async () => {
    const out = await check({ students: [{ id: '7', firstName: 'Émile', lastName: 'Nelligan', email: 'emile@etsmtl.ca', username: 'en' }] });
    assert.deepEqual(out.students, [{ id: '7', name: 'Émile Nelligan', email: 'emile@etsmtl.ca', username: 'en' }]);
    assert.throws(() => normalize.input.parse({}), /exactly one of csv or students/);
  });

  it('handles 10,000 rows quickly and refuses more than the limit', async () => {
    const rows = Array.from({ length: 10_000 }, (_, i) => `s${i},Étudiant,${i},s${i}@etsmtl.ca`);
    const started = performance.now();
    const out = await check({ csv: ['id,first name,last name,email', ...rows].join('\n') });
    assert.equal(out.accepted, 10_000);
    assert.ok(performance.now() - started < 5_000, `took ${performance.now() - started} ms`);
    const tooMany = Array.from({ length: MAX_ROSTER + 1 }, (_, i) => `s${i}@etsmtl.ca`);
    assert.equal((await failure(check({ csv: ['email', ...tooMany].join('\n') }))).type, 'InvalidRoster');
  });
});
