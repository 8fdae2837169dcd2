// A local stand-in for a Moodle site: `POST /webservice/rest/server.php` speaking the REST web
// service format (form fields wstoken, wsfunction, moodlewsrestformat=json, bracketed params) for
// core_enrol_get_enrolled_users, with Moodle's error objects (HTTP 200) for bad tokens and params.
// As Moodle (enrol/externallib.php, user/lib.php user_get_user_details): every enrolment whatever the
// role, `onlyactive` / `onlysuspended` filter on the enrolment status (both at once is an error),
// `userfields` limits the fields (id and fullname always), `roles` are the user's course roles
// ({ roleid, name, shortname, sortorder }; standard roles have an empty name) and `groups` its groups.
import { localServer, json, type LocalServer } from '../activities/_support.ts';

export interface PeerUser {
  id: number;
  username: string;
  firstname: string;
  lastname: string;
  email?: string;
  groups: number[];
  /** The enrolment is active (false: suspended). */
  active: boolean;
  /** Role shortnames in the course; default ['student']. */
  roles?: string[];
}

// Moodle's standard roles: id and sort order of a fresh install.
const STANDARD_ROLES: Record<string, { roleid: number; sortorder: number }> = {
  manager: { roleid: 1, sortorder: 1 },
  coursecreator: { roleid: 2, sortorder: 2 },
  editingteacher: { roleid: 3, sortorder: 3 },
  teacher: { roleid: 4, sortorder: 4 },
  student: { roleid: 5, sortorder: 5 },
  guest: { roleid: 6, sortorder: 6 },
};

/** A user as core_enrol_get_enrolled_users describes it, limited to `fields` (all when empty). */
function describe(u: PeerUser, fields: Set<string>): Record<string, unknown> {
  const all: Record<string, unknown> = {
    username: u.username,
    firstname: u.firstname,
    lastname: u.lastname,
    ...(u.email ? { email: u.email } : {}),
    roles: (u.roles ?? ['student']).map((shortname, i) => ({ roleid: STANDARD_ROLES[shortname]?.roleid ?? 100 + i, name: STANDARD_ROLES[shortname] ? '' : shortname, shortname, sortorder: STANDARD_ROLES[shortname]?.sortorder ?? 100 + i })),
    groups: u.groups.map((id) => ({ id, name: `Groupe ${id}`, description: '', descriptionformat: 1 })),
  };
  const out: Record<string, unknown> = { id: u.id, fullname: `${u.firstname} ${u.lastname}` };
  for (const [key, value] of Object.entries(all)) if (!fields.size || fields.has(key)) out[key] = value;
  return out;
}

export interface MoodlePeer extends LocalServer {
  courseId: number;
  users: PeerUser[];
  /** Calls seen, decoded. */
  calls: { wsfunction: string; params: Record<string, string> }[];
  /** The next `n` calls answer HTTP 503. */
  failNext(n: number): void;
}

export async function moodlePeer(opts: { token: string; courseId: number; users: PeerUser[] }): Promise<MoodlePeer> {
  const calls: MoodlePeer['calls'] = [];
  let failing = 0;
  const server = await localServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/webservice/rest/server.php') return json(res, 404, { error: 'not found' });
    if (failing > 0) {
      failing--;
      return json(res, 503, { error: 'maintenance' });
    }
    const params = Object.fromEntries(new URLSearchParams(req.body));
    calls.push({ wsfunction: params.wsfunction ?? '', params });
    if (params.moodlewsrestformat !== 'json') return json(res, 200, { exception: 'invalid_parameter_exception', errorcode: 'invalidparameter', message: 'Invalid parameter value detected' });
    if (params.wstoken !== opts.token) return json(res, 200, { exception: 'moodle_exception', errorcode: 'invalidtoken', message: 'Invalid token - token not found' });
    if (params.wsfunction !== 'core_enrol_get_enrolled_users') return json(res, 200, { exception: 'dml_missing_record_exception', errorcode: 'invalidrecord', message: `Can't find data record in database table external_functions.` });
    if (Number(params.courseid) !== opts.courseId) return json(res, 200, { exception: 'moodle_exception', errorcode: 'invalidrecord', message: "Can't find data record in database table course." });
    const options = new Map<string, string>();
    for (let i = 0; params[`options[${i}][name]`] !== undefined; i++) options.set(params[`options[${i}][name]`]!, params[`options[${i}][value]`] ?? '');
    let users = opts.users;
    const onlyactive = options.get('onlyactive') === '1';
    const onlysuspended = options.get('onlysuspended') === '1';
    if (onlyactive && onlysuspended) return json(res, 200, { exception: 'coding_exception', errorcode: 'codingerror', message: 'Coding error detected, it must be fixed by a programmer: Both onlyactive and onlysuspended are set, this is probably not what you want!' });
    if (onlyactive) users = users.filter((u) => u.active);
    if (onlysuspended) users = users.filter((u) => !u.active);
    if (options.has('groupid')) users = users.filter((u) => u.groups.includes(Number(options.get('groupid'))));
    const from = Number(options.get('limitfrom') ?? 0);
    const count = Number(options.get('limitnumber') ?? 0);
    const page = count > 0 ? users.slice(from, from + count) : users.slice(from);
    const fields = new Set((options.get('userfields') ?? '').split(',').map((f) => f.trim()).filter(Boolean));
    json(res, 200, page.map((u) => describe(u, fields)));
  });
  return Object.assign(server, { courseId: opts.courseId, users: opts.users, calls, failNext: (n: number) => void (failing = n) });
}

const MOODLE_ENV = ['CEDILLE_MOODLE_URL', 'CEDILLE_MOODLE_TOKEN_FILE', 'CEDILLE_MOODLE_TOKEN_REF', 'MOODLE_TOKEN'] as const;
export type MoodleEnv = Partial<Record<(typeof MOODLE_ENV)[number], string>>;

/** Sets the worker's Moodle configuration (variables not given are unset); returns a function restoring the previous one. */
export function setMoodleEnv(vars: MoodleEnv): () => void {
  const previous = Object.fromEntries(MOODLE_ENV.map((k) => [k, process.env[k]]));
  const apply = (values: Record<string, string | undefined>) => {
    for (const k of MOODLE_ENV) {
      if (values[k] === undefined) delete process.env[k];
      else process.env[k] = values[k];
    }
  };
  apply(vars);
  return () => apply(previous);
}
