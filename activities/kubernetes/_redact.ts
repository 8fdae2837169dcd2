// Secret values never leave the kubernetes.* activities: their outputs are stored in workflow history
// (and shown by the UI, the API and `temporal workflow show`), so a Secret's `data` and `stringData`
// keep their keys (a workflow may check which exist) with every value replaced, and the
// `kubectl.kubernetes.io/last-applied-configuration` annotation (a copy of the whole manifest,
// values included, written by `kubectl apply`) is replaced too. Read Secret values by Vault
// reference instead (activities/_secrets.ts).
import type { KObject } from './_client.ts';

export const REDACTED = '(redacted)';
export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

function redactValues(value: unknown): unknown {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return REDACTED;
  return Object.fromEntries(Object.keys(value).map((k) => [k, REDACTED]));
}

/** Whether an object is a core Secret (`v1`; list items carry the list's apiVersion/kind). */
export function isSecret(obj: Pick<KObject, 'apiVersion' | 'kind'>): boolean {
  return obj.kind === 'Secret' && obj.apiVersion === 'v1';
}

/** The object as an activity may return it: a Secret without its values; anything else unchanged. */
export function redacted(obj: KObject): KObject {
  if (!isSecret(obj)) return obj;
  const out: KObject = { ...obj };
  for (const field of ['data', 'stringData'] as const) {
    if (field in out) (out as Record<string, unknown>)[field] = redactValues((out as Record<string, unknown>)[field]);
  }
  const annotations = obj.metadata.annotations;
  if (annotations && LAST_APPLIED in annotations) out.metadata = { ...obj.metadata, annotations: { ...annotations, [LAST_APPLIED]: REDACTED } };
  return out;
}
