// Error classification of the kubernetes.* activities: the table of HTTP statuses (ApiException
// values as client-node raises them, with the API server's Status bodies), and a real network error.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { ApiException, KubeConfig } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { kubeFailure, retryAfterMs } from '../../activities/kubernetes/_errors.ts';
import { KubeClient } from '../../activities/kubernetes/_client.ts';

const status = (code: number, reason: string, message: string, details?: unknown) =>
  JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message, ...(details ? { details } : {}) });
const apiError = (code: number, body: string, headers: Record<string, string> = {}) => new ApiException(code, 'Unsuccessful HTTP Request', body, headers);

describe('kubeFailure', () => {
  const table: [string, ApiException<string>, { type: string; retryable: boolean; message: RegExp; delay?: number }][] = [
    [
      'SSA conflict',
      apiError(409, status(409, 'Conflict', 'Apply failed with 1 conflict: conflict with "kubectl-edit" using apps/v1: .spec.replicas', { causes: [{ type: 'FieldManagerConflict', message: 'conflict with "kubectl-edit" using apps/v1', field: '.spec.replicas' }] })),
      { type: 'ApplyConflict', retryable: false, message: /conflict with "kubectl-edit".*\.spec\.replicas/ },
    ],
    ['optimistic-lock conflict', apiError(409, status(409, 'Conflict', 'Operation cannot be fulfilled on deployments.apps "w": the object has been modified')), { type: 'Conflict', retryable: true, message: /the object has been modified/ }],
    ['AlreadyExists', apiError(409, status(409, 'AlreadyExists', 'namespaces "x" already exists')), { type: 'AlreadyExists', retryable: true, message: /already exists/ }],
    ['429 with Retry-After', apiError(429, status(429, 'TooManyRequests', 'too many requests'), { 'retry-after': '7' }), { type: 'TooManyRequests', retryable: true, message: /too many requests/, delay: 7000 }],
    ['500', apiError(500, status(500, 'InternalError', 'etcdserver: request timed out')), { type: 'InternalError', retryable: true, message: /etcdserver/ }],
    [
      'SSA schema mismatch (a 500 from the server)',
      apiError(500, status(500, 'InternalError', 'failed to create typed patch object (ns/x; /v1, Kind=ConfigMap): .dataa: field not declared in schema')),
      { type: 'Invalid', retryable: false, message: /Invalid: failed to create typed patch object .*\.dataa: field not declared in schema/ },
    ],
    ['503 without a Status body', apiError(503, 'service unavailable'), { type: 'ServiceUnavailable', retryable: true, message: /service unavailable/ }],
    ['504', apiError(504, status(504, 'Timeout', 'the server was unable to return a response in the time allotted')), { type: 'Timeout', retryable: true, message: /time allotted/ }],
    ['400', apiError(400, status(400, 'BadRequest', 'error decoding patch: json: cannot unmarshal')), { type: 'BadRequest', retryable: false, message: /cannot unmarshal/ }],
    ['401', apiError(401, status(401, 'Unauthorized', 'Unauthorized')), { type: 'Unauthorized', retryable: false, message: /Unauthorized/ }],
    [
      '403',
      apiError(403, status(403, 'Forbidden', 'deployments.apps is forbidden: User "system:serviceaccount:x:nobody" cannot create resource "deployments" in API group "apps" in the namespace "x"')),
      { type: 'Forbidden', retryable: false, message: /Forbidden: deployments\.apps is forbidden: .* cannot create resource "deployments"/ },
    ],
    ['404', apiError(404, status(404, 'NotFound', 'deployments.apps "w" not found')), { type: 'NotFound', retryable: false, message: /not found/ }],
    ['422', apiError(422, status(422, 'Invalid', 'Deployment.apps "W" is invalid: metadata.name: Invalid value')), { type: 'Invalid', retryable: false, message: /is invalid/ }],
  ];
  for (const [name, err, want] of table) {
    it(`${name} -> ${want.type}, ${want.retryable ? 'retryable' : 'non-retryable'}`, () => {
      const f = kubeFailure(err, 'apply apps/v1 Deployment x/w');
      assert.ok(f instanceof ApplicationFailure);
      assert.equal(f.type, want.type);
      assert.equal(f.nonRetryable, !want.retryable);
      assert.match(f.message, /^apply apps\/v1 Deployment x\/w: /);
      assert.match(f.message, want.message);
      if (want.delay !== undefined) assert.equal(f.nextRetryDelay, want.delay);
    });
  }

  it('Retry-After as an HTTP date, or the Status retryAfterSeconds', () => {
    assert.equal(retryAfterMs(apiError(429, '', { 'Retry-After': new Date(10_000).toUTCString() }), 4_000), 6_000);
    assert.equal(retryAfterMs(apiError(429, status(429, 'TooManyRequests', 'slow down', { retryAfterSeconds: 3 }))), 3_000);
  });

  it('unknown kinds are not retried', () => {
    const f = kubeFailure(new Error('Unrecognized API version and kind: v1 Nope'), 'apply v1 Nope x');
    assert.equal(f.type, 'UnknownKind');
    assert.equal(f.nonRetryable, true);
  });

  it('a refused connection (real) is retryable, naming the code', async () => {
    // A port that was free a moment ago: nothing listens there.
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'u', token: 'x' }],
      contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
      currentContext: 'ctx',
    });
    const err = await new KubeClient(kc).get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'x', name: 'y' }).then(
      () => assert.fail('expected an error'),
      (e: unknown) => e,
    );
    const f = kubeFailure(err, 'get v1 ConfigMap x/y');
    assert.equal(f.type, 'KubernetesUnavailable');
    assert.equal(f.nonRetryable, false);
    assert.match(f.message, /ECONNREFUSED/);
  });
});
