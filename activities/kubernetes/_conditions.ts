// The conditions kubernetes.waitFor waits for, as pure functions of the observed object.
//   { type: 'Available', status: 'True' }   an entry of status.conditions
//   { field: 'status.readyReplicas >= 1' }   a simple field comparison (==, !=, >=, <=, >, <)
//   { deleted: true }                        the object is gone
import { z } from 'zod';
import type { KObject } from './_client.ts';

const OPS = ['==', '!=', '>=', '<=', '>', '<'] as const;
type Op = (typeof OPS)[number];

export interface FieldTest {
  path: (string | number)[];
  op: Op;
  value: string;
}

const FIRST = /^(?:([A-Za-z_$][\w$-]*))/;
const SEGMENT = /^(?:\.([A-Za-z_$][\w$-]*)|\[(\d+)\]|\[["']([^"']+)["']\])/;

/** Parses `status.phase == Running`, `status.conditions[0].status != "False"`, `metadata.labels["a/b"] == x`. */
export function parseFieldTest(text: string): FieldTest {
  const m = /^\s*(.+?)\s*(==|!=|>=|<=|>|<|=)\s*(.*?)\s*$/.exec(text);
  if (!m) throw new Error(`expected <path> <op> <value> with op one of ${OPS.join(' ')}, got "${text}"`);
  const [, pathText = '', rawOp = '', rawValue = ''] = m;
  const op = (rawOp === '=' ? '==' : rawOp) as Op;
  const path: (string | number)[] = [];
  let rest = pathText.trim();
  while (rest) {
    const s = (path.length ? SEGMENT : FIRST).exec(rest);
    if (!s) throw new Error(`invalid field path "${pathText}" at "${rest}"`);
    path.push(s[1] ?? (s[2] !== undefined ? Number(s[2]) : (s[3] ?? '')));
    rest = rest.slice(s[0].length);
  }
  if (!path.length) throw new Error(`empty field path in "${text}"`);
  const value = rawValue.replace(/^(["'])(.*)\1$/, '$2');
  if ((op === '>' || op === '<' || op === '>=' || op === '<=') && !Number.isFinite(Number(value))) {
    throw new Error(`${op} needs a number, got "${rawValue}"`);
  }
  return { path, op, value };
}

export function fieldAt(obj: unknown, path: (string | number)[]): unknown {
  let cur = obj;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[seg];
  }
  return cur;
}

export function fieldTestHolds(obj: unknown, t: FieldTest): boolean {
  const actual = fieldAt(obj, t.path);
  if (t.op === '==' || t.op === '!=') {
    const equal = actual !== undefined && actual !== null && typeof actual !== 'object' && String(actual) === t.value;
    return t.op === '==' ? equal : !equal;
  }
  // Missing numbers (readyReplicas before any replica is ready) count as 0.
  const n = actual === undefined || actual === null ? 0 : Number(actual);
  if (!Number.isFinite(n)) return false;
  const v = Number(t.value);
  return t.op === '>' ? n > v : t.op === '<' ? n < v : t.op === '>=' ? n >= v : n <= v;
}

export const condition = z.union([
  z.strictObject({ type: z.string().min(1).describe('a status.conditions type: Ready, Available, ...'), status: z.enum(['True', 'False', 'Unknown']).default('True') }),
  z.strictObject({
    field: z
      .string()
      .min(3)
      .superRefine((text, c) => {
        try {
          parseFieldTest(text);
        } catch (err) {
          c.addIssue({ code: 'custom', message: (err as Error).message });
        }
      })
      .describe('e.g. status.phase == Running, status.readyReplicas >= 1'),
  }),
  z.strictObject({ deleted: z.literal(true) }),
]);
export type Condition = z.output<typeof condition>;

/** Whether the object (undefined when absent) satisfies the condition. */
export function satisfied(cond: Condition, obj: KObject | undefined): boolean {
  if ('deleted' in cond) return obj === undefined;
  if (!obj) return false;
  if ('field' in cond) return fieldTestHolds(obj, parseFieldTest(cond.field));
  const conditions = fieldAt(obj, ['status', 'conditions']);
  if (!Array.isArray(conditions)) return false;
  return conditions.some((c: { type?: unknown; status?: unknown }) => c?.type === cond.type && c?.status === cond.status);
}

/** What a timeout report says about the object: its status conditions / phase, or absence. */
export function observed(obj: KObject | undefined): Record<string, unknown> {
  if (!obj) return { present: false };
  const status = (obj.status ?? {}) as Record<string, unknown>;
  const conditions = Array.isArray(status.conditions)
    ? (status.conditions as Record<string, unknown>[]).map((c) => ({ type: c.type, status: c.status, ...(c.reason ? { reason: c.reason } : {}), ...(c.message ? { message: c.message } : {}) }))
    : undefined;
  const { conditions: _c, ...rest } = status;
  return { present: true, resourceVersion: obj.metadata.resourceVersion, ...(obj.metadata.deletionTimestamp ? { deleting: true } : {}), status: { ...rest, ...(conditions ? { conditions } : {}) } };
}

/** One line for messages: `Available=False (MinimumReplicasUnavailable), phase Pending`. */
export function observedText(obj: KObject | undefined): string {
  if (!obj) return 'object absent';
  const status = (obj.status ?? {}) as Record<string, unknown>;
  const parts: string[] = [];
  if (Array.isArray(status.conditions)) {
    for (const c of status.conditions as Record<string, unknown>[]) parts.push(`${String(c.type)}=${String(c.status)}${c.reason ? ` (${String(c.reason)})` : ''}`);
  }
  if (typeof status.phase === 'string') parts.push(`phase ${status.phase}`);
  if (obj.metadata.deletionTimestamp) parts.push('being deleted');
  return parts.length ? parts.join(', ') : 'no status yet';
}
