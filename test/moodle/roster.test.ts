// The Moodle client and roster checks: the real HTTP client against a local server speaking Moodle's
// REST web service format (paging, groups, roles, active and suspended enrolments, error objects), the
// worker-configured site and token, and CSV rosters with the problems instructors actually upload.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import moodleRoster from '../../activities/moodle/roster.ts';
import normalize, { MAX_ROSTER, Student } from '../../activities/roster/normalize.ts';
import { moodleForm } from '../../activities/moodle/_client.ts';
import { callActivity, localServer, type LocalServer } from '../activities/_support.ts';
import { moodlePeer, setMoodleEnv, type MoodlePeer, type PeerUser } from './_moodle-peer.ts';

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

type RosterOut = {
  students: { id: string; username?: string; email?: string }[];
  skipped: { id: string; username?: string; name?: string; reason: string; roles: string[]; message: string }[];
  enrolments: number;
  pages: number;
};

describe('moodle.roster against a Moodle-speaking server', () => {
  let peer: MoodlePeer;
  let restore: () => void;
  before(async () => {
    peer = await moodlePeer({ token: TOKEN, courseId: 42, users: users(450) });
    restore = setMoodleEnv({ CEDILLE_MOODLE_URL: peer.url('/'), MOODLE_TOKEN: TOKEN });
  });
  after(async () => {
    restore();
    await peer.close();
  });

  it('pages through the active students of one group, then its suspended enrolments', async () => {
    const out = (await callActivity(moodleRoster, { courseId: 42, groupId: 1, pageSize: 100 })) as RosterOut;
    const inGroup = peer.users.filter((u) => u.groups.includes(1));
    const active = inGroup.filter((u) => u.active);
    const suspended = inGroup.filter((u) => !u.active);
    assert.equal(out.students.length, active.length);
    assert.equal(out.enrolments, inGroup.length);
    assert.equal(out.pages, Math.floor(active.length / 100) + 1 + Math.floor(suspended.length / 100) + 1);
    assert.deepEqual(out.students[0], { id: '1000', username: 'aa00000', firstName: 'Zoé', lastName: 'Numéro 0', email: 'etudiant0@ens.etsmtl.ca' });
    const first = peer.calls.at(-1)!.params;
    assert.equal(first.wsfunction, 'core_enrol_get_enrolled_users');
    assert.equal(first.moodlewsrestformat, 'json');
    assert.equal(first.courseid, '42');
  });

  it('keeps students only: suspended enrolments and other roles are skipped with the reason (121 = 112 + 8 + 1)', async () => {
    const course: PeerUser[] = [
      ...Array.from({ length: 120 }, (_, i) => ({ id: 7000 + i, username: `ak${String(i).padStart(5, '0')}`, firstname: 'Élève', lastname: `${i}`, email: `ak${i}@ens.etsmtl.ca`, groups: [], active: i >= 8 })),
      { id: 7999, username: 'prof.tremblay', firstname: 'Marie', lastname: 'Tremblay', email: 'marie.tremblay@etsmtl.ca', groups: [], active: true, roles: ['editingteacher'] },
    ];
    const site = await moodlePeer({ token: TOKEN, courseId: 680, users: course });
    const back = setMoodleEnv({ CEDILLE_MOODLE_URL: site.url('/'), MOODLE_TOKEN: TOKEN });
    try {
      const out = (await callActivity(moodleRoster, { courseId: 680, pageSize: 50 })) as RosterOut;
      assert.equal(out.students.length, 112);
      assert.equal(out.enrolments, 121);
      assert.ok(!out.students.some((s) => s.username === 'prof.tremblay'), 'the teacher gets no workspace');
      const suspended = out.skipped.filter((s) => s.reason === 'suspended');
      assert.deepEqual(suspended.map((s) => s.username), Array.from({ length: 8 }, (_, i) => `ak0000${i}`));
      assert.equal(suspended[0]!.message, 'enrolment suspended in Moodle');
      assert.deepEqual(out.skipped.filter((s) => s.reason === 'not-a-student'), [
        { id: '7999', username: 'prof.tremblay', name: 'Marie Tremblay', reason: 'not-a-student', roles: ['editingteacher'], message: 'role editingteacher in the course, not student' },
      ]);
      assert.ok(site.calls.every((c) => c.params['options[1][value]']?.split(',').includes('roles')), 'roles are asked for');
    } finally {
      back();
      await site.close();
    }
  });

  it('the student roles are configurable; an enrolment without a role is skipped', async () => {
    const course: PeerUser[] = [
      { id: 1, username: 'eleve', firstname: 'A', lastname: 'B', email: 'a@etsmtl.ca', groups: [], active: true },
      { id: 2, username: 'auditeur', firstname: 'C', lastname: 'D', email: 'c@etsmtl.ca', groups: [], active: true, roles: ['auditeur'] },
      { id: 3, username: 'personne', firstname: 'E', lastname: 'F', email: 'e@etsmtl.ca', groups: [], active: true, roles: [] },
      { id: 4, username: 'assistant', firstname: 'G', lastname: 'H', email: 'g@etsmtl.ca', groups: [], active: true, roles: ['teacher', 'student'] },
    ];
    const site = await moodlePeer({ token: TOKEN, courseId: 9, users: course });
    const back = setMoodleEnv({ CEDILLE_MOODLE_URL: site.url('/'), MOODLE_TOKEN: TOKEN });
    try {
      const out = (await callActivity(moodleRoster, { courseId: 9, roles: ['student', 'auditeur'] })) as RosterOut;
      assert.deepEqual(out.students.map((s) => s.username), ['eleve', 'auditeur', 'assistant']);
      assert.deepEqual(out.skipped.map((s) => [s.username, s.reason, s.message]), [['personne', 'not-a-student', 'no role in the course (expected student or auditeur)']]);
      assert.throws(() => moodleRoster.input.parse({ courseId: 9, roles: ['student; drop'] }), /role shortname/);
    } finally {
      back();
      await site.close();
    }
  });

  it('encodes nested parameters in Moodle bracket notation', () => {
    assert.equal(decodeURIComponent(moodleForm({ courseid: 1, options: [{ name: 'groupid', value: 3 }], flag: true }).toString()), 'courseid=1&options[0][name]=groupid&options[0][value]=3&flag=1');
  });

  it('an invalid token is a non-retryable MoodleAuth failure with Moodle\'s message', async () => {
    const back = setMoodleEnv({ CEDILLE_MOODLE_URL: peer.url('/'), MOODLE_TOKEN: 'nope' });
    try {
      const err = await failure(callActivity(moodleRoster, { courseId: 42 }));
      assert.equal(err.type, 'MoodleAuth');
      assert.equal(err.nonRetryable, true);
      assert.match(err.message, /invalidtoken: Invalid token - token not found/);
    } finally {
      back();
    }
  });

  it('a worker without a token or a site says what to set', async () => {
    const noToken = setMoodleEnv({ CEDILLE_MOODLE_URL: peer.url('/') });
    try {
      const err = await failure(callActivity(moodleRoster, { courseId: 42 }));
      assert.equal(err.type, 'MoodleAuth');
      assert.match(err.message, /CEDILLE_MOODLE_TOKEN_FILE, CEDILLE_MOODLE_TOKEN_REF or MOODLE_TOKEN/);
    } finally {
      noToken();
    }
    const noSite = setMoodleEnv({ MOODLE_TOKEN: TOKEN });
    try {
      const err = await failure(callActivity(moodleRoster, { courseId: 42 }));
      assert.equal(err.type, 'MoodleNotConfigured');
      assert.match(err.message, /CEDILLE_MOODLE_URL/);
    } finally {
      noSite();
    }
  });

  it('reads the token from the worker\'s token file', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'moodle-token-')), 'token');
    writeFileSync(file, `${TOKEN}\n`);
    const back = setMoodleEnv({ CEDILLE_MOODLE_URL: peer.url('/'), CEDILLE_MOODLE_TOKEN_FILE: file, MOODLE_TOKEN: 'not-this-one' });
    try {
      const out = (await callActivity(moodleRoster, { courseId: 42, groupId: 2 })) as RosterOut;
      assert.ok(out.students.length > 0);
    } finally {
      back();
    }
  });

  it('an unknown course is a non-retryable MoodleError', async () => {
    const err = await failure(callActivity(moodleRoster, { courseId: 7 }));
    assert.equal(err.type, 'MoodleError');
    assert.equal(err.nonRetryable, true);
  });

  it('a Moodle in maintenance (HTTP 503) or unreachable is retryable', async () => {
    peer.failNext(1);
    const err = await failure(callActivity(moodleRoster, { courseId: 42 }));
    assert.equal(err.type, 'MoodleUnavailable');
    assert.equal(err.nonRetryable, false);
    const back = setMoodleEnv({ CEDILLE_MOODLE_URL: 'http://127.0.0.1:9/', MOODLE_TOKEN: TOKEN });
    try {
      const down = await failure(callActivity(moodleRoster, { courseId: 42 }));
      assert.equal(down.type, 'MoodleUnavailable');
    } finally {
      back();
    }
  });
});

describe('the Moodle token goes only to the worker\'s Moodle site', () => {
  let peer: MoodlePeer;
  let attacker: LocalServer;
  let restore: () => void;
  before(async () => {
    peer = await moodlePeer({ token: TOKEN, courseId: 42, users: users(3) });
    attacker = await localServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('[]'));
    restore = setMoodleEnv({ CEDILLE_MOODLE_URL: peer.url('/'), MOODLE_TOKEN: TOKEN });
  });
  after(async () => {
    restore();
    await Promise.all([peer.close(), attacker.close()]);
  });

  it('an input naming another site is refused, naming the field, and the other site receives nothing', async () => {
    for (const url of [attacker.url('/'), attacker.url('/webservice/rest/server.php'), `${peer.url('/')}moodle/`, 'file:///etc/passwd', 'not a url']) {
      const err = await failure(callActivity(moodleRoster, { url, courseId: 42 }));
      assert.equal(err.type, 'MoodleSiteRefused', url);
      assert.equal(err.nonRetryable, true);
      assert.ok(err.message.startsWith(`url: '${url}' is not the worker's Moodle site (${peer.url('/')}, CEDILLE_MOODLE_URL)`), err.message);
    }
    assert.equal(attacker.requests.length, 0);
  });

  it('an input repeating the worker\'s site is accepted', async () => {
    for (const url of [peer.url('/'), peer.url(''), peer.url('/').toUpperCase()]) {
      const out = (await callActivity(moodleRoster, { url, courseId: 42 })) as RosterOut;
      assert.equal(out.students.length, 3, url);
    }
  });

  it('no input names the token or where it comes from', () => {
    for (const extra of [{ tokenEnv: 'HOME' }, { tokenRef: 'vault:secret/data/x#y' }, { token: TOKEN }]) {
      assert.throws(() => moodleRoster.input.parse({ courseId: 42, ...extra }), /Unrecognized key/);
    }
  });

  it('a site that redirects is not followed: the token does not travel with the redirect', async () => {
    const redirecting = await localServer((_req, res) => res.writeHead(307, { location: attacker.url('/webservice/rest/server.php') }).end());
    const back = setMoodleEnv({ CEDILLE_MOODLE_URL: redirecting.url('/'), MOODLE_TOKEN: TOKEN });
    try {
      const err = await failure(callActivity(moodleRoster, { courseId: 42 }));
      assert.equal(err.type, 'MoodleError');
      assert.match(err.message, /HTTP 307 .*redirects are not followed/);
      assert.equal(redirecting.requests.length, 1);
      assert.equal(attacker.requests.length, 0);
    } finally {
      back();
      await redirecting.close();
    }
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

  it('rejects hostile or unusable identifiers by the identifier rule, naming row and field', async () => {
    const long = `a${'b'.repeat(79)}`;
    const csv = [
      'id,username,first name,last name,email',
      'AB12345,,Zoé,Côté,zoe@ens.etsmtl.ca',
      ',ak-../../etc,Mallory,X,mallory@ens.etsmtl.ca',
      `${long},,Long,Id,long@ens.etsmtl.ca`,
      'a b,,Space,Id,space@ens.etsmtl.ca',
      ',,Plus,Mail,zoe+test@ens.etsmtl.ca',
      'CD67890,cd67890@ens.etsmtl.ca,Émile,Nelligan,emile@ens.etsmtl.ca',
      'EF11111,CD67890@ENS.ETSMTL.CA,Même,Espace,meme@ens.etsmtl.ca',
      'é12,,Accent,Id,accent@ens.etsmtl.ca',
      '-lead,,Dash,Id,dash@ens.etsmtl.ca',
    ].join('\n');
    const out = await check({ csv });
    assert.deepEqual(out.students.map((s) => s.id), ['AB12345', 'CD67890']);
    assert.deepEqual(out.problems.map((p) => [p.row, p.field]), [[3, 'username'], [4, 'id'], [5, 'id'], [6, 'email'], [8, 'username'], [9, 'id'], [10, 'id']]);
    assert.match(out.problems[0]!.message, /^'ak-\.\.\/\.\.\/etc' is not an identifier: ASCII letters, digits and \. _ - @ only/);
    assert.equal(out.problems[1]!.message, `'${long.slice(0, 40)}…' is 80 characters long; at most 64`);
    assert.match(out.problems[3]!.message, /^the e-mail's local part 'zoe\+test' \(the student's id when there is neither id nor username\) is not an identifier/);
    assert.equal(out.problems[4]!.message, 'duplicate of row 7', 'a username that names the same namespace as another is a duplicate');

    // Moodle usernames follow the same rule (rows are positions in Moodle's list, from 1).
    const moodle = await check({ students: [{ id: '5', username: 'ok.user', email: 'ok@etsmtl.ca' }, { id: '6', username: 'ak-../../etc', email: 'm@etsmtl.ca' }, { id: '7', username: 'x'.repeat(80), email: 'x@etsmtl.ca' }] });
    assert.deepEqual(moodle.students.map((s) => s.username), ['ok.user']);
    assert.deepEqual(moodle.problems.map((p) => [p.row, p.field]), [[2, 'username'], [3, 'username']]);
    // And a student that did not come through the check cannot be provisioned.
    assert.throws(() => Student.parse({ id: '../x', name: 'x', email: 'x@etsmtl.ca' }), /ASCII letters/);
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
