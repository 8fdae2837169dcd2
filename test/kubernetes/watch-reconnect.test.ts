// kubernetes.waitFor survives a closed connection: the activities reach the API server through a TCP
// proxy (this process's KUBECONFIG points at it) that drops every connection mid-watch, then refuses
// connections for a while; the wait re-lists, watches again and sees the change.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import waitFor from '../../activities/kubernetes/waitFor.ts';
import { testKubeconfigPath, testNamespace } from '../support/cluster.ts';
import { adminClient, callActivity, recordingContext, tcpProxy, writeKubeconfig } from './_support.ts';

const admin = adminClient();
let proxy: Awaited<ReturnType<typeof tcpProxy>>;

before(async () => {
  const server = admin.config.getCurrentCluster()?.server;
  assert.ok(server);
  proxy = await tcpProxy(new URL(server));
  // Before the activities' client is first used: it loads KUBECONFIG once.
  process.env.KUBECONFIG = writeKubeconfig('via-proxy', (doc) => {
    for (const c of doc.clusters) c.cluster.server = proxy.url;
  });
  assert.notEqual(process.env.KUBECONFIG, testKubeconfigPath());
});

after(async () => {
  await proxy?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('a watch that loses its connection (and finds the API unreachable for a while) re-lists and completes', async () => {
  const ns = await testNamespace('watch-drop');
  const cm = (ready: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'flag', namespace: ns }, data: { ready } });
  await admin.apply(cm('no'));
  const ctx = recordingContext();
  const waiting = callActivity(waitFor, { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'flag', condition: { field: 'data.ready == yes' }, timeoutSeconds: 60, heartbeatSeconds: 0.2 }, ctx);
  let settled = false;
  void waiting.then(() => (settled = true), () => (settled = true));
  await sleep(1500);
  const before = proxy.connections();
  assert.ok(before >= 1);
  proxy.block(true);
  proxy.drop();
  await sleep(2000);
  assert.equal(settled, false, 'the wait goes on while the API is unreachable');
  // The change happens while the activity cannot see it.
  await admin.apply(cm('yes'));
  proxy.block(false);
  const out = (await waiting) as { present: boolean; observed: { status: unknown } };
  assert.equal(out.present, true);
  assert.ok(proxy.connections() > before, 'reconnected');
  assert.ok(ctx.beats.length >= 5, 'heartbeats went on meanwhile');
});
