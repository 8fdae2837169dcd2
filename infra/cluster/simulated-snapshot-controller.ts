// SIMULATION of what a real cluster's storage stack and kubelet do for the backup workflows; the local
// cluster runs no CSI driver, no snapshot controller and no container runtime. It plays:
//  - the CSI external-snapshotter + Mayastor: a VolumeSnapshot of a PVC becomes readyToUse with a bound
//    VolumeSnapshotContent, and the PVC's "volume" (a directory) is copied to a snapshot directory;
//    deleting the VolumeSnapshot deletes the content and the directory;
//  - the CSI provisioner's restore from a snapshot: a PVC whose dataSource is a VolumeSnapshot gets the
//    snapshot's files in its directory (on first mount);
//  - the kubelet for the backup agent's Job pods (label cedille.etsmtl.ca/agent-mode, which kwok is told
//    to leave alone with the annotation kwok.x-k8s.io/status=custom): runs the agent as a local process
//    (`node --import tsx backup-agent/main.ts <the container's args>`) with the pod's volume mounts mapped
//    to the PVCs' directories and a service-account token from the TokenRequest API as the projected token;
//    `projected` volumes (serviceAccountToken with its audience, from the TokenRequest API; configMap items) are
//    written to a directory of their own. With no mount namespace, a container path is its host directory:
//    mount paths are rewritten to those directories in the args, the env values and the projected files;
//    reports Running, then Succeeded or Failed with the exit code and, as the termination message, the
//    agent's last stdout line (what the real kubelet's log endpoint would give).
// Volumes are directories: PVC <namespace>/<name> -> <root>/volumes/<namespace>/<name>.
// Failure injection: `neverReady` (snapshots of these PVCs, "ns/pvc", never become ready) and
// `failUploadOnce` (the next upload of these PVCs dies halfway: its GCS connection is cut after
// `failAfterBytes` bytes of the upload and the agent process is killed, like a node lost mid-upload).
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, KubeConfig, Watch } from '@kubernetes/client-node';
import { KubeClient, type KObject } from '../../activities/kubernetes/_client.ts';
import { httpStatusOf } from '../../activities/kubernetes/_errors.ts';

const SNAPSHOT_API = 'snapshot.storage.k8s.io/v1';
const AGENT_MODE_LABEL = 'cedille.etsmtl.ca/agent-mode';
export const KWOK_CUSTOM_STATUS = { 'kwok.x-k8s.io/status': 'custom' } as const;
export const KUBELET_ID_ANNOTATION = 'cedille.test/simulated-kubelet';
const REPO = fileURLToPath(new URL('../..', import.meta.url));
const SA_TOKEN_PATH = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export interface SimulatedSnapshotControllerOptions {
  kubeconfig: string;
  /** Directory holding volumes/ and snapshots/ (default: a new temp dir, removed by stop()). */
  root?: string;
  /** The agent's command line before its arguments (default: this Node with tsx, backup-agent/main.ts). */
  agentCommand?: string[];
  /** Extra environment of the agent processes. */
  agentEnv?: NodeJS.ProcessEnv;
  /** Bytes of an upload after which a failUploadOnce upload is cut (default 256 KiB). */
  failAfterBytes?: number;
  /**
   * Several controllers may share a cluster (test files run concurrently): with `kubeletId`, only pods
   * annotated `cedille.test/simulated-kubelet: <id>` are run; with `namespaces`, only snapshots there
   * are taken (the set may grow while running).
   */
  kubeletId?: string;
  namespaces?: Set<string>;
}

export interface AgentRun {
  namespace: string;
  pod: string;
  mode: string;
  pvc?: string | undefined;
  exitCode: number;
  ms: number;
  cut: boolean;
  /** Requests that went through the cutting proxy (failUploadOnce). */
  proxied?: string[] | undefined;
  stderrTail: string;
}

export interface SimulatedSnapshotController {
  root: string;
  /** The directory standing for a PVC's volume. */
  volumeDir(namespace: string, pvc: string): string;
  /** "ns/pvc": snapshots of these PVCs never become ready. */
  neverReady: Set<string>;
  /** "ns/pvc": the next backup upload of these PVCs fails halfway. */
  failUploadOnce: Set<string>;
  snapshotsReady: number;
  agentRuns: AgentRun[];
  stop(): Promise<void>;
}

type Pod = KObject & {
  spec?: {
    nodeName?: string;
    serviceAccountName?: string;
    containers?: { name: string; args?: string[]; env?: { name: string; value?: string }[]; volumeMounts?: { name: string; mountPath: string }[] }[];
    volumes?: { name: string; persistentVolumeClaim?: { claimName: string }; projected?: { sources?: ProjectedSource[] } }[];
  };
  status?: { phase?: string };
};

interface ProjectedSource {
  serviceAccountToken?: { audience?: string; expirationSeconds?: number; path: string };
  configMap?: { name: string; items?: { key: string; path: string }[] };
}

function argValue(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}

/** A pass-through HTTP proxy to GCS that cuts the first upload after `limit` bytes and calls `onCut`. */
async function cuttingProxy(target: string, limit: number, onCut: () => void): Promise<{ url: string; seen: string[]; close(): void }> {
  const log: string[] = [];
  const upstream = new URL(target);
  let armed = true;
  let self = '';
  const server: Server = createServer((req, res) => {
    const isUpload = (req.url ?? '').includes('/upload/') && req.method !== 'GET';
    log.push(`${req.method} ${req.url}`);
    const out = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } }, (up) => {
      // Resumable upload sessions are absolute URLs: keep them on the proxy.
      const headers = { ...up.headers };
      if (typeof headers.location === 'string') headers.location = headers.location.replace(upstream.origin, self);
      res.writeHead(up.statusCode ?? 502, headers);
      up.pipe(res);
    });
    out.on('error', () => res.destroy());
    let seen = 0;
    req.on('data', (chunk: Buffer) => {
      seen += chunk.length;
      if (armed && isUpload && seen >= limit) {
        armed = false;
        out.destroy();
        req.socket.destroy();
        onCut();
        return;
      }
      out.write(chunk);
    });
    req.on('end', () => out.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  self = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url: self, seen: log, close: () => server.close() };
}

export async function startSimulatedSnapshotController(opts: SimulatedSnapshotControllerOptions): Promise<SimulatedSnapshotController> {
  const kc = new KubeConfig();
  kc.loadFromFile(opts.kubeconfig);
  const client = new KubeClient(kc);
  const core = kc.makeApiClient(CoreV1Api);
  const ownRoot = !opts.root;
  const root = opts.root ?? mkdtempSync(join(process.env.CEDILLE_TEST_SCRATCH ?? '/tmp', 'simulated-volumes-'));
  const volumeDir = (ns: string, pvc: string) => join(root, 'volumes', ns, pvc);
  const snapshotDir = (uid: string) => join(root, 'snapshots', uid);
  const agentCommand = opts.agentCommand ?? [process.execPath, '--import', 'tsx', join(REPO, 'backup-agent', 'main.ts')];
  const running = new Map<string, ChildProcess>(); // pod uid -> agent
  const handled = new Set<string>();
  const watches: AbortController[] = [];
  let stopped = false;

  const state: SimulatedSnapshotController = {
    root,
    volumeDir,
    neverReady: new Set(),
    failUploadOnce: new Set(),
    snapshotsReady: 0,
    agentRuns: [],
    async stop() {
      stopped = true;
      for (const w of watches) w.abort();
      for (const child of running.values()) child.kill('SIGKILL');
      if (ownRoot) rmSync(root, { recursive: true, force: true });
    },
  };

  // --- the snapshot controller -------------------------------------------------------------------
  const snapshotReady = async (vs: KObject) => {
    const uid = vs.metadata.uid!;
    const ns = vs.metadata.namespace!;
    const spec = vs.spec as { source?: { persistentVolumeClaimName?: string }; volumeSnapshotClassName?: string };
    const status = vs.status as { readyToUse?: boolean } | undefined;
    const pvc = spec.source?.persistentVolumeClaimName;
    if (!pvc || status?.readyToUse || vs.metadata.deletionTimestamp || handled.has(`vs/${uid}`)) return;
    if (opts.namespaces && !opts.namespaces.has(ns)) return;
    if (state.neverReady.has(`${ns}/${pvc}`)) return;
    handled.add(`vs/${uid}`);
    try {
      const claim = await client.get({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: ns, name: pvc });
      const source = volumeDir(ns, pvc);
      mkdirSync(source, { recursive: true });
      const dir = snapshotDir(uid);
      rmSync(dir, { recursive: true, force: true });
      cpSync(source, dir, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
      const contentName = `snapcontent-${uid}`;
      const size = (claim.status as { capacity?: { storage?: string } } | undefined)?.capacity?.storage ?? '1Gi';
      const content: KObject = {
        apiVersion: SNAPSHOT_API,
        kind: 'VolumeSnapshotContent',
        metadata: { name: contentName },
        spec: {
          deletionPolicy: 'Delete',
          driver: 'io.openebs.csi-mayastor',
          ...(spec.volumeSnapshotClassName ? { volumeSnapshotClassName: spec.volumeSnapshotClassName } : {}),
          source: { volumeHandle: `simulated-${claim.metadata.uid}` },
          volumeSnapshotRef: { apiVersion: SNAPSHOT_API, kind: 'VolumeSnapshot', name: vs.metadata.name, namespace: ns, uid },
        },
      };
      await client.apply(content, { force: true, fieldManager: 'simulated-snapshot-controller' });
      const now = new Date();
      await client.mergePatch({ apiVersion: SNAPSHOT_API, kind: 'VolumeSnapshotContent', name: contentName }, { status: { readyToUse: true, snapshotHandle: dir, creationTime: now.getTime() * 1_000_000, restoreSize: 0 } }, { subresource: 'status' });
      await client.mergePatch(
        { apiVersion: SNAPSHOT_API, kind: 'VolumeSnapshot', namespace: ns, name: vs.metadata.name },
        { status: { boundVolumeSnapshotContentName: contentName, creationTime: now.toISOString(), readyToUse: true, restoreSize: size } },
        { subresource: 'status' },
      );
      state.snapshotsReady++;
    } catch (err) {
      handled.delete(`vs/${uid}`);
      if (!stopped) console.error(`simulated snapshot controller: ${ns}/${vs.metadata.name}: ${(err as Error).message}`);
    }
  };
  const deleteContent = async (uid: string) => {
    rmSync(snapshotDir(uid), { recursive: true, force: true });
    await client.delete({ apiVersion: SNAPSHOT_API, kind: 'VolumeSnapshotContent', name: `snapcontent-${uid}` }).catch(() => undefined);
  };
  const snapshotDeleted = async (vs: KObject) => {
    if (opts.namespaces && !opts.namespaces.has(vs.metadata.namespace ?? '')) return;
    await deleteContent(vs.metadata.uid!);
  };
  // Like the real controller, a content whose snapshot is gone is deleted (deletionPolicy Delete). This
  // also catches a deletion that raced the content's creation or fell between two watches.
  const contentSeen = async (content: KObject) => {
    const ref = (content.spec as { volumeSnapshotRef?: { name?: string; namespace?: string; uid?: string } }).volumeSnapshotRef;
    if (!ref?.name || !ref.namespace || !ref.uid || content.metadata.deletionTimestamp) return;
    if (opts.namespaces && !opts.namespaces.has(ref.namespace)) return;
    const vs = await client.get({ apiVersion: SNAPSHOT_API, kind: 'VolumeSnapshot', namespace: ref.namespace, name: ref.name }).catch((err: unknown) => {
      if (httpStatusOf(err) === 404) return null;
      throw err;
    });
    if (vs === null || vs.metadata.uid !== ref.uid) await deleteContent(ref.uid);
  };

  // --- the kubelet of the agent's pods -----------------------------------------------------------
  const setPodStatus = (pod: Pod, status: unknown) =>
    client.mergePatch({ apiVersion: 'v1', kind: 'Pod', namespace: pod.metadata.namespace!, name: pod.metadata.name }, { status }, { subresource: 'status' });

  /** The directory of a pod's claim, filled from its snapshot the first time (the CSI restore). */
  const claimDir = async (ns: string, claim: string): Promise<string> => {
    const dir = volumeDir(ns, claim);
    if (existsSync(dir)) return dir;
    const pvc = await client.get({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: ns, name: claim });
    const ds = (pvc.spec as { dataSource?: { kind?: string; name?: string } }).dataSource;
    if (ds?.kind === 'VolumeSnapshot' && ds.name) {
      const vs = await client.get({ apiVersion: SNAPSHOT_API, kind: 'VolumeSnapshot', namespace: ns, name: ds.name });
      const contentName = (vs.status as { boundVolumeSnapshotContentName?: string } | undefined)?.boundVolumeSnapshotContentName;
      if (!contentName) throw new Error(`snapshot ${ns}/${ds.name} of claim ${claim} is not bound`);
      const content = await client.get({ apiVersion: SNAPSHOT_API, kind: 'VolumeSnapshotContent', name: contentName });
      const handle = (content.status as { snapshotHandle?: string } | undefined)?.snapshotHandle;
      if (!handle) throw new Error(`snapshot content ${contentName} has no handle`);
      cpSync(handle, dir, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
    } else {
      mkdirSync(dir, { recursive: true });
    }
    return dir;
  };

  const runPod = async (pod: Pod) => {
    const uid = pod.metadata.uid!;
    const ns = pod.metadata.namespace!;
    const container = pod.spec?.containers?.[0];
    if (!container) return;
    const started = Date.now();
    const startedAt = new Date(started).toISOString();
    let args = [...(container.args ?? [])];
    const mode = pod.metadata.labels?.[AGENT_MODE_LABEL] ?? '';
    const mounts: { mountPath: string; dir: string }[] = [];
    const onHost = (text: string) => mounts.reduce((t, m) => t.split(`${m.mountPath}/`).join(`${m.dir}/`), text);
    const containerEnv: Record<string, string> = {};
    try {
      for (const m of container.volumeMounts ?? []) {
        const volume = pod.spec?.volumes?.find((v) => v.name === m.name);
        const claim = volume?.persistentVolumeClaim?.claimName;
        if (claim) {
          const dir = await claimDir(ns, claim);
          mounts.push({ mountPath: m.mountPath, dir });
          args = args.map((a) => (a === m.mountPath ? dir : a.startsWith(`${m.mountPath}/`) ? dir + a.slice(m.mountPath.length) : a));
        } else if (volume?.projected) {
          mounts.push({ mountPath: m.mountPath, dir: join(root, 'projected', uid, volume.name) });
        }
      }
      for (const m of container.volumeMounts ?? []) {
        const sources = pod.spec?.volumes?.find((v) => v.name === m.name)?.projected?.sources;
        if (!sources) continue;
        const dir = join(root, 'projected', uid, m.name);
        mkdirSync(dir, { recursive: true });
        for (const src of sources) {
          if (src.serviceAccountToken) {
            const { audience, expirationSeconds, path } = src.serviceAccountToken;
            const tr = await core.createNamespacedServiceAccountToken({
              namespace: ns,
              name: pod.spec?.serviceAccountName ?? 'default',
              body: { spec: { audiences: audience ? [audience] : [], expirationSeconds: expirationSeconds ?? 3600, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata.name, uid } } },
            });
            writeFileSync(join(dir, path), tr.status?.token ?? '', { mode: 0o600 });
          }
          if (src.configMap) {
            const cm = await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: src.configMap.name });
            const data = (cm as { data?: Record<string, string> }).data ?? {};
            for (const item of src.configMap.items ?? Object.keys(data).map((key) => ({ key, path: key }))) {
              if (data[item.key] === undefined) throw new Error(`ConfigMap ${ns}/${src.configMap.name} has no key ${item.key}`);
              writeFileSync(join(dir, item.path), onHost(data[item.key]!));
            }
          }
        }
      }
      for (const e of container.env ?? []) if (e.value !== undefined) containerEnv[e.name] = onHost(e.value);
      // The projected service-account token, from the API server (Vault's Kubernetes auth reviews it).
      if (args.includes(SA_TOKEN_PATH)) {
        const tr = await core.createNamespacedServiceAccountToken({
          namespace: ns,
          name: pod.spec?.serviceAccountName ?? 'default',
          body: { spec: { audiences: [], expirationSeconds: 3600, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata.name, uid } } },
        });
        const tokenFile = join(root, 'tokens', uid);
        mkdirSync(join(root, 'tokens'), { recursive: true });
        writeFileSync(tokenFile, tr.status?.token ?? '', { mode: 0o600 });
        args = args.map((a) => (a === SA_TOKEN_PATH ? tokenFile : a));
      }
    } catch (err) {
      await setPodStatus(pod, { phase: 'Failed', reason: 'SimulatedMountFailure', message: (err as Error).message }).catch(() => undefined);
      return;
    }
    const pvc = argValue(args, '--pvc');
    let cut = false;
    let proxy: { url: string; seen: string[]; close(): void } | undefined;
    const key = `${ns}/${pvc}`;
    const agent: { child?: ChildProcess } = {};
    if (mode === 'backup' && state.failUploadOnce.has(key)) {
      state.failUploadOnce.delete(key);
      const endpoint = argValue(args, '--gcs-endpoint');
      if (endpoint) {
        proxy = await cuttingProxy(endpoint, opts.failAfterBytes ?? 256 * 1024, () => {
          cut = true;
          agent.child?.kill('SIGKILL');
        });
        args[args.indexOf('--gcs-endpoint') + 1] = proxy.url;
      }
    }
    await setPodStatus(pod, {
      phase: 'Running',
      startTime: startedAt,
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: startedAt }],
      containerStatuses: [{ name: container.name, image: 'simulated', imageID: '', ready: true, restartCount: 0, started: true, state: { running: { startedAt } } }],
    }).catch(() => undefined);
    const env = { ...process.env, ...opts.agentEnv, ...containerEnv };
    const [cmd, ...pre] = agentCommand;
    const child = spawn(cmd!, [...pre, ...args], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    agent.child = child;
    running.set(uid, child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout = (stdout + d.toString()).slice(-64_000)));
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8_000)));
    const exitCode = await new Promise<number>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal === 'SIGKILL' ? 137 : 143))));
    running.delete(uid);
    proxy?.close();
    const lastLine = stdout.trim().split('\n').at(-1) ?? '';
    state.agentRuns.push({ namespace: ns, pod: pod.metadata.name, mode, pvc, exitCode, ms: Date.now() - started, cut, proxied: proxy?.seen, stderrTail: stderr.slice(-2000) });
    const finishedAt = new Date().toISOString();
    const message = exitCode === 0 ? lastLine : `${lastLine}\n${stderr.trim().split('\n').slice(-3).join('\n')}`.trim();
    await setPodStatus(pod, {
      phase: exitCode === 0 ? 'Succeeded' : 'Failed',
      conditions: [{ type: 'Ready', status: 'False', lastTransitionTime: finishedAt }],
      containerStatuses: [
        {
          name: container.name, image: 'simulated', imageID: '', ready: false, restartCount: 0, started: false,
          state: { terminated: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt, finishedAt, message: message.slice(-4000) } },
        },
      ],
    }).catch((err: Error) => !stopped && console.error(`simulated kubelet: status of ${ns}/${pod.metadata.name}: ${err.message}`));
  };

  const onPod = (type: string, pod: Pod) => {
    const uid = pod.metadata.uid;
    if (!uid || !pod.metadata.labels?.[AGENT_MODE_LABEL]) return;
    if (opts.kubeletId && pod.metadata.annotations?.[KUBELET_ID_ANNOTATION] !== opts.kubeletId) return;
    if (type === 'DELETED' || pod.metadata.deletionTimestamp) {
      running.get(uid)?.kill('SIGKILL');
      // No kubelet confirms the deletion: finish it, as the kubelet would once the container is gone.
      if (type !== 'DELETED') void client.delete({ apiVersion: 'v1', kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name }, { gracePeriodSeconds: 0 }).catch(() => undefined);
      return;
    }
    if (!pod.spec?.nodeName || handled.has(`pod/${uid}`) || (pod.status?.phase && pod.status.phase !== 'Pending')) return;
    handled.add(`pod/${uid}`);
    void runPod(pod).catch((err: Error) => !stopped && console.error(`simulated kubelet: ${pod.metadata.namespace}/${pod.metadata.name}: ${err.message}`));
  };

  const watchAll = async (path: string, onEvent: (type: string, obj: KObject) => void): Promise<void> => {
    if (stopped) return;
    try {
      const list = await client.listAt(path, {});
      for (const item of list.items) onEvent('ADDED', item);
      const c = await new Watch(kc).watch(path, { resourceVersion: list.metadata.resourceVersion, allowWatchBookmarks: true }, (type, obj) => type !== 'BOOKMARK' && onEvent(type, obj as KObject), () => void setTimeout(() => void watchAll(path, onEvent), 200));
      watches.push(c);
    } catch {
      setTimeout(() => void watchAll(path, onEvent), 500);
    }
  };
  await watchAll(`/apis/${SNAPSHOT_API}/volumesnapshots`, (type, vs) => void (type === 'DELETED' ? snapshotDeleted(vs) : snapshotReady(vs)));
  await watchAll(`/apis/${SNAPSHOT_API}/volumesnapshotcontents`, (type, c) => {
    if (type !== 'DELETED') void contentSeen(c).catch((err: Error) => !stopped && console.error(`simulated snapshot controller: content ${c.metadata.name}: ${err.message}`));
  });
  await watchAll('/api/v1/pods', (type, pod) => onPod(type, pod as Pod));
  return state;
}
