// A local stand-in for a Moodle site: `POST /webservice/rest/server.php` speaking the REST web
// service format (form fields wstoken, wsfunction, moodlewsrestformat=json, bracketed params) for
// core_enrol_get_enrolled_users, with Moodle's error objects (HTTP 200) for bad tokens and params.
import { localServer, json, type LocalServer } from '../activities/_support.ts';

export interface PeerUser {
  id: number;
  username: string;
  firstname: string;
  lastname: string;
  email?: string;
  groups: number[];
  active: boolean;
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
    if (options.get('onlyactive') === '1') users = users.filter((u) => u.active);
    if (options.has('groupid')) users = users.filter((u) => u.groups.includes(Number(options.get('groupid'))));
    const from = Number(options.get('limitfrom') ?? 0);
    const count = Number(options.get('limitnumber') ?? 0);
    const page = count > 0 ? users.slice(from, from + count) : users.slice(from);
    json(res, 200, page.map(({ groups: _g, active: _a, ...u }) => ({ ...u, fullname: `${u.firstname} ${u.lastname}` })));
  });
  return Object.assign(server, { courseId: opts.courseId, users: opts.users, calls, failNext: (n: number) => void (failing = n) });
}
