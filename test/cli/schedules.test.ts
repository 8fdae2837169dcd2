// `cedille schedules`: create with the API's body as flags, list, get, pause, unpause, trigger,
// delete, and the exit codes of a bad cron, invalid input, a duplicate, a missing role and an unknown id.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cliEnv, show, type CliEnv } from './_support.ts';

const TICK = `apiVersion: workflows.cedille.etsmtl.ca/v1alpha1
kind: WorkflowDefinition
metadata:
  name: cli-tick
spec:
  input:
    type: object
    properties:
      who: { type: string }
    required: [who]
  steps:
    - id: say
      activity: core.echo
      with: { value: "tick for \${{ inputs.who }}" }
`;

describe('cedille schedules', () => {
  let env: CliEnv;
  const id = `cli-nightly-${randomBytes(4).toString('hex')}`;
  before(async () => {
    env = await cliEnv();
    const applied = await env.cli(['apply', '-f', env.file('tick.yaml', TICK)]);
    assert.equal(applied.code, 0, show(applied));
  });
  after(() => env.close());

  it('creates, lists, shows, pauses, unpauses, triggers and deletes a schedule', async () => {
    const created = await env.cli(['schedules', 'create', id, '-d', 'cli-tick', '--cron', '0 3 * * *', '--timezone', 'America/Toronto', '--overlap', 'buffer_one', '--set', 'who=ada', '--catchup-window', '1h']);
    assert.equal(created.code, 0, show(created));
    assert.match(created.stdout, new RegExp(`^created schedule ${id}$`, 'm'));
    assert.match(created.stdout, /overlap\s+buffer_one/);

    const list = await env.cli(['schedules', 'list'], { as: 'nobody' });
    assert.equal(list.code, 0, show(list));
    assert.match(list.stdout, new RegExp(`^${id}\\s+cli-tick\\s+0 3 \\* \\* \\*\\s+America/Toronto\\s+no\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ$`, 'm'));

    const json = await env.cli(['schedules', 'get', id, '-o', 'json'], { as: 'nobody' });
    assert.equal(json.code, 0, show(json));
    const { schedule } = JSON.parse(json.stdout) as { schedule: { cron: string; input: unknown; catchupWindow: string; createdBy: string } };
    assert.equal(schedule.cron, '0 3 * * *');
    assert.deepEqual(schedule.input, { who: 'ada' });
    assert.equal(schedule.createdBy, 'alice-admin');

    const paused = await env.cli(['schedules', 'pause', id, '--note', 'exams week']);
    assert.equal(paused.code, 0, show(paused));
    const get = await env.cli(['schedules', 'get', id]);
    assert.match(get.stdout, new RegExp(`^schedule ${id}  \\(paused\\)`), show(get));
    assert.match(get.stdout, /note\s+exams week/);
    assert.equal((await env.cli(['schedules', 'unpause', id])).code, 0);

    const triggered = await env.cli(['schedules', 'trigger', id]);
    assert.equal(triggered.code, 0, show(triggered));
    assert.match(triggered.stdout, new RegExp(`^triggered schedule ${id}$`, 'm'));

    const deleted = await env.cli(['schedules', 'delete', id]);
    assert.equal(deleted.code, 0, show(deleted));
    const gone = await env.cli(['schedules', 'get', id]);
    assert.equal(gone.code, 4, show(gone));
    assert.match(gone.stderr, new RegExp(`no schedule '${id}' \\(404 Not Found\\)`));
  });

  it('maps refusals to exit codes: bad cron 2, invalid input 1, no admin role 3, duplicate 5', async () => {
    const other = `${id}-x`;
    const badCron = await env.cli(['schedules', 'create', other, '-d', 'cli-tick', '--cron', '61 * * * *', '--set', 'who=ada']);
    assert.equal(badCron.code, 2, show(badCron));
    assert.match(badCron.stderr, /^ {2}body\.cron: invalid cron expression: /m);
    const badInput = await env.cli(['schedules', 'create', other, '-d', 'cli-tick', '--cron', '@daily']);
    assert.equal(badInput.code, 1, show(badInput));
    assert.match(badInput.stderr, /body\.input/);
    const operator = await env.cli(['schedules', 'create', other, '-d', 'cli-tick', '--cron', '@daily', '--set', 'who=ada'], { as: 'operator' });
    assert.equal(operator.code, 3, show(operator));

    const ok = await env.cli(['schedules', 'create', other, '-d', 'cli-tick', '--cron', '@daily', '--set', 'who=ada', '--paused']);
    assert.equal(ok.code, 0, show(ok));
    const dup = await env.cli(['schedules', 'create', other, '-d', 'cli-tick', '--cron', '@daily', '--set', 'who=ada']);
    assert.equal(dup.code, 5, show(dup));
    assert.match(dup.stderr, /already exists/);
    assert.equal((await env.cli(['schedules', 'delete', other])).code, 0);
  });
});
