// workspaces: the built-in `class-workspaces` definition (workflow type `classWorkspaces`) provisioning a
// class on a real API server: the local cluster (etcd, kube-apiserver, controller-manager, scheduler,
// kwok for the nodes; infra/cluster/local-cluster.ts) and the SIMULATED CSI provisioner of the tests
// (infra/cluster/simulated-csi-provisioner.ts) binding the home volumes. The worker runs in a child
// process (bench/worker-process.ts, built-in definitions on) so its RSS is its own.
//
// Three ways to get the same objects (workspaceManifests: namespace, quota, limits, network policy, PVC,
// Deployment, Service, Ingress, RoleBinding) ready for N students, each on a course code of its own:
//  (a) the workflow: `classWorkspaces` on a CSV roster of N students, client start -> result;
//  (b) direct: @kubernetes/client-node, server-side apply of the same manifests, a pool of 50 (the
//      definition's forEach concurrency), each student holding its slot until its Deployment is
//      Available (one shared watch) - what the workflow does, without durability: the lower bound;
//  (c) sequential: `kubectl apply --server-side -f <student.yaml>` then `kubectl wait --for=condition=Available`
//      per student (kubectl built from our pinned go.mod), timed on a sample and extrapolated linearly to N.
// Order: warm-up, (c), (b), (a): each later run works against a cluster holding the earlier runs'
// objects, so the workflow runs on the fullest cluster (conservative for both ratios).
// BENCH_WORKSPACES_LARGE=10000: then a class that large through the workflow, for history events and RSS.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { KubeConfig, KubernetesObjectApi, PatchStrategy, Watch, type KubernetesObject } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { startLocalCluster, type LocalCluster } from '../infra/cluster/local-cluster.ts';
import { ensureClusterTools } from '../infra/tools/kubernetes/index.ts';
import { startSimulatedCsiProvisioner } from '../infra/cluster/simulated-csi-provisioner.ts';
import { workspaceManifests, workspaceNamespace, type Manifest } from '../activities/kubernetes/builders/index.ts';
import { courseKey, Profile, STUDENT_ID_ANNOTATION, studentKey, termKey, type Course } from '../activities/workspaces/_params.ts';
import { startChildWorker, ProcRssSampler, procStatusBytes } from './child-worker.ts';
import { executions } from './fanout-10k.ts';
import { cpuMeter, describeCpu, extraDynamicConfig, machine, mb, ms, round, say, table, withTemporal, writeResult, type BenchResult, type CpuSplit } from './common.ts';

const run = promisify(execFile);

const N = Number(process.env.BENCH_WORKSPACES ?? 1000);
const SEQUENTIAL = Number(process.env.BENCH_WORKSPACES_SEQUENTIAL ?? 50);
const LARGE = Number(process.env.BENCH_WORKSPACES_LARGE ?? 0);
const WARMUP = 5;
const CONCURRENCY = 50; // class-workspaces.yaml: forEach concurrency of `workspaces`
const TARGET_DIRECT = 1.5;
const TARGET_SEQUENTIAL = 5;
const MAX_EVENTS = 10_240;
const MAX_RSS = 2 ** 30; // no figure in the issue; the fan-out benchmark's bound
const DOMAIN = 'ws.bench.test';
const PROFILE = { image: 'codercom/code-server:4.96.4', port: 8080, storage: '2Gi' };
const READY_TIMEOUT_S = 900;
// kwok's fake nodes (infra/cluster/local-cluster.ts fakeNode) have 32 CPUs: 128 workspaces at the 250m default request.
const PODS_PER_NODE = 120;
const TERM = 'A2026';

type Student = { id: string; name: string; email: string };
type Output = { ready: number; failed: number; accepted: number; students: { status: string }[] };

function students(prefix: string, n: number): Student[] {
  return Array.from({ length: n }, (_, i) => {
    const id = `${prefix}${String(i).padStart(5, '0')}`;
    return { id, name: `Étudiant·e ${i}`, email: `${id.toLowerCase()}@ens.etsmtl.ca` };
  });
}

function csv(list: Student[]): string {
  return `Matricule,Nom,Courriel\n${list.map((s) => `${s.id},${s.name},${s.email}`).join('\n')}\n`;
}

/** What workspaces.provision applies for one student (same builder, same defaults, same annotations). */
function manifestsFor(course: Course, s: Student): Manifest[] {
  const profile = Profile.parse(PROFILE);
  const manifests = workspaceManifests({
    course: courseKey(course),
    student: studentKey(s),
    term: termKey(course),
    image: profile.image,
    port: profile.port,
    resources: { requests: { cpu: profile.cpu.request, memory: profile.memory.request }, limits: { cpu: profile.cpu.limit, memory: profile.memory.limit } },
    storage: { size: profile.storage, storageClassName: profile.storageClass },
    domain: DOMAIN,
    clusterIssuer: 'letsencrypt',
    ingressControllerNamespace: 'projectcontour',
    user: s.email,
  });
  (manifests[0]!.metadata as { annotations?: Record<string, string> }).annotations = { [STUDENT_ID_ANNOTATION]: s.id, 'cedille.etsmtl.ca/student-email': s.email };
  return manifests;
}

type DeploymentLike = { metadata?: { name?: string; namespace?: string }; status?: { conditions?: { type?: string; status?: string }[] } };
const available = (d: DeploymentLike) => d.status?.conditions?.some((c) => c.type === 'Available' && c.status === 'True') ?? false;

/** One cluster-wide watch of Deployments named `workspace`: resolves waiters when theirs turns Available. */
async function availabilityWatch(kc: KubeConfig): Promise<{ until(ns: string): Promise<void>; stop(): void }> {
  const ready = new Set<string>();
  const waiters = new Map<string, () => void>();
  let controller: AbortController | undefined;
  let stopped = false;
  const start = async (): Promise<void> => {
    if (stopped) return;
    controller = await new Watch(kc).watch(
      '/apis/apps/v1/deployments',
      { fieldSelector: 'metadata.name=workspace' },
      (_type, d: DeploymentLike) => {
        const ns = d.metadata?.namespace;
        if (!ns || !available(d)) return;
        ready.add(ns);
        waiters.get(ns)?.();
        waiters.delete(ns);
      },
      // A watch that ends is restarted without a resourceVersion: its initial ADDED events re-sync the state.
      () => void setTimeout(() => void start(), 100),
    );
  };
  await start();
  return {
    until: (ns) =>
      ready.has(ns)
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`${ns}: Deployment workspace not Available within ${READY_TIMEOUT_S} s`)), READY_TIMEOUT_S * 1000);
            waiters.set(ns, () => {
              clearTimeout(timer);
              resolve();
            });
          }),
    stop: () => {
      stopped = true;
      controller?.abort();
    },
  };
}

/** (b) A pool of CONCURRENCY: per student, server-side apply of every manifest in order, then wait Available. */
async function direct(kubeconfig: string, course: Course, list: Student[]): Promise<number> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const watch = await availabilityWatch(kc);
  try {
    const t0 = performance.now();
    let next = 0;
    const worker = async () => {
      while (next < list.length) {
        const s = list[next++]!;
        for (const m of manifestsFor(course, s)) {
          await objects.patch(m as KubernetesObject, undefined, undefined, 'bench-direct', true, PatchStrategy.ServerSideApply);
        }
        await watch.until(workspaceNamespace(courseKey(course), studentKey(s)));
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, list.length) }, worker));
    return performance.now() - t0;
  } finally {
    watch.stop();
  }
}

/** (c) One student at a time: `kubectl apply --server-side -f <file>` then `kubectl wait --for=condition=Available`. */
async function sequential(kubectl: string, kubeconfig: string, course: Course, list: Student[]): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'cedille-bench-kubectl-'));
  try {
    const files = list.map((s, i) => {
      const file = join(dir, `student-${i}.yaml`);
      writeFileSync(file, manifestsFor(course, s).map((m) => stringify(m)).join('---\n'));
      return { file, ns: workspaceNamespace(courseKey(course), studentKey(s)) };
    });
    const t0 = performance.now();
    for (const { file, ns } of files) {
      await run(kubectl, ['--kubeconfig', kubeconfig, 'apply', '--server-side', '--force-conflicts', '--field-manager=bench-kubectl', '-f', file]);
      await run(kubectl, ['--kubeconfig', kubeconfig, 'wait', '--for=condition=Available', '-n', ns, 'deployment/workspace', `--timeout=${READY_TIMEOUT_S}s`]);
    }
    return performance.now() - t0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const cpuJson = (c: CpuSplit) => ({ wallMs: ms(c.wallMs), workerProcessMs: ms(c.workerMs ?? NaN), benchProcessMs: ms(c.selfMs), serverMs: ms(c.serverMs), otherProcessesMs: ms(c.othersMs) });

export async function workspaces(): Promise<BenchResult> {
  const tools = await ensureClusterTools();
  // Room on the fake nodes for every workspace of every run (CPU requests are what fills a node).
  const pods = WARMUP * 2 + SEQUENTIAL + 2 * N + LARGE;
  const nodes = Math.max(3, Math.ceil(pods / PODS_PER_NODE));
  say(`workspaces: starting the local cluster (${nodes} kwok nodes)`);
  const cluster: LocalCluster = await startLocalCluster({ tools, nodes });
  const csi = await startSimulatedCsiProvisioner(cluster.kubeconfigPath, ['mayastor']);
  const tuning = { maxConcurrentActivityTaskExecutions: 200, maxConcurrentWorkflowTaskExecutions: 40, maxCachedWorkflows: 500 };
  try {
    return await withTemporal('workspaces', { dynamicConfig: extraDynamicConfig() }, async ({ client, taskQueue, server }) => {
      const worker = await startChildWorker({ address: server.address, namespace: server.namespace, taskQueue, tuning, definitions: true, env: { KUBECONFIG: cluster.kubeconfigPath } });
      try {
        const classRun = async (workflowId: string, course: Course, list: Student[]) => {
          const t0 = performance.now();
          const out = (await client.workflow.execute('classWorkspaces', {
            taskQueue,
            workflowId,
            args: [{ course, roster: { csv: csv(list) }, profile: PROFILE, domain: DOMAIN, readyTimeoutSeconds: READY_TIMEOUT_S }],
          })) as Output;
          const elapsed = performance.now() - t0;
          if (out.ready !== list.length || out.failed !== 0) throw new Error(`${workflowId}: ${out.ready} ready, ${out.failed} failed of ${list.length}: ${JSON.stringify(out.students.filter((s) => s.status !== 'ready').slice(0, 3))}`);
          return elapsed;
        };

        say(`workspaces: warm-up (${WARMUP} students through the workflow, ${WARMUP} direct)`);
        await classRun('bench-workspaces-warmup', { code: 'WARM', term: TERM }, students('W', WARMUP));
        await direct(cluster.kubeconfigPath, { code: 'WARMD', term: TERM }, students('V', WARMUP));

        say(`workspaces: (c) sequential kubectl loop on ${SEQUENTIAL} students`);
        const seqCpu = cpuMeter(server.process.pid, worker.pid);
        const seqMs = SEQUENTIAL > 0 ? await sequential(tools.kubectl, cluster.kubeconfigPath, { code: 'SEQ', term: TERM }, students('S', SEQUENTIAL)) : NaN;
        const seqSplit = seqCpu();
        const seqPerStudent = seqMs / SEQUENTIAL;
        const seqExtrapolated = seqPerStudent * N;

        say(`workspaces: (b) direct client, ${N} students, concurrency ${CONCURRENCY}`);
        const directCpu = cpuMeter(server.process.pid, worker.pid);
        const directMs = await direct(cluster.kubeconfigPath, { code: 'DIRECT', term: TERM }, students('D', N));
        const directSplit = directCpu();

        say(`workspaces: (a) classWorkspaces, ${N} students`);
        const parentId = 'bench-workspaces-class';
        const rss = new ProcRssSampler(worker.pid, 200);
        const wfCpu = cpuMeter(server.process.pid, worker.pid);
        const wfMs = await classRun(parentId, { code: 'WF', term: TERM }, students('A', N));
        const wfSplit = wfCpu();
        const wfRssPeak = rss.stop();
        const execs = await executions(client, parentId, 1);
        const maxExec = execs.reduce((a, b) => (b.events > a.events ? b : a));

        let large: { ms: number; executions: number; maxEvents: number; maxEventsExecution: string; rssPeak: number; cpu: CpuSplit } | undefined;
        if (LARGE > 0) {
          say(`workspaces: large class, ${LARGE} students through the workflow`);
          const largeId = 'bench-workspaces-large';
          const largeRss = new ProcRssSampler(worker.pid, 200);
          const largeCpu = cpuMeter(server.process.pid, worker.pid);
          const largeMs = await classRun(largeId, { code: 'BIG', term: TERM }, students('L', LARGE));
          const split = largeCpu();
          const peak = largeRss.stop();
          const largeExecs = await executions(client, largeId, 2);
          const m = largeExecs.reduce((a, b) => (b.events > a.events ? b : a));
          large = { ms: largeMs, executions: largeExecs.length, maxEvents: m.events, maxEventsExecution: m.workflowId, rssPeak: peak, cpu: split };
        }
        const hwm = procStatusBytes(worker.pid, 'VmHWM');
        const workerPeak = Math.max(Number.isNaN(hwm) ? 0 : hwm, wfRssPeak, large?.rssPeak ?? 0);

        const ratioDirect = wfMs / directMs;
        const ratioSequential = seqExtrapolated / wfMs;
        const directOk = ratioDirect <= TARGET_DIRECT;
        const seqOk = ratioSequential >= TARGET_SEQUENTIAL;
        const eventsMax = Math.max(maxExec.events, large?.maxEvents ?? 0);
        const eventsOk = eventsMax <= MAX_EVENTS;
        const rssOk = workerPeak < MAX_RSS;
        const m = machine();
        const perS = (t: number, n: number) => round(n / (t / 1000), 1);

        console.log(`\n=== workspaces  (cores: ${m.cores}, ${m.cpu}, node ${m.node})`);
        console.log(
          `local cluster: etcd + kube-apiserver + controller-manager + scheduler + kwok (${nodes} fake nodes), simulated CSI provisioner; ` +
            `9 objects per student; worker (own process, pid ${worker.pid}): ${tuning.maxConcurrentActivityTaskExecutions} activity slots; forEach concurrency ${CONCURRENCY}\n`,
        );
        const rows: (string | number)[][] = [
          ['(a) workflow classWorkspaces (CSV roster)', N, ms(wfMs), perS(wfMs, N), execs.length, maxExec.events],
          [`(b) direct client-node SSA, pool of ${CONCURRENCY}, wait Available`, N, ms(directMs), perS(directMs, N), '-', '-'],
          [`(c) sequential kubectl apply + wait: measured`, SEQUENTIAL, ms(seqMs), perS(seqMs, SEQUENTIAL), '-', '-'],
          [`(c) sequential, extrapolated (${ms(seqPerStudent)} ms/student x ${N})`, N, ms(seqExtrapolated), perS(seqMs, SEQUENTIAL), '-', '-'],
        ];
        if (large) rows.push(['large class through the workflow', LARGE, ms(large.ms), perS(large.ms, LARGE), large.executions, large.maxEvents]);
        console.log(table(['run', 'students', 'wall ms', 'students/s', 'executions', 'max events/execution'], rows));
        console.log(`\nexecutions of the ${N}-student run: ${execs.length} (parent + forEachBatch children); largest: ${maxExec.workflowId} (${maxExec.events} events)`);
        console.log(`workflow run: ${describeCpu(wfSplit)}`);
        console.log(`direct run: ${describeCpu(directSplit)}`);
        console.log(`sequential run: ${describeCpu(seqSplit)}`);
        if (large) console.log(`large run: ${describeCpu(large.cpu)}`);
        console.log(`\nratio wall(workflow)/wall(direct) = ${round(ratioDirect, 2)}  target <= ${TARGET_DIRECT}  ${directOk ? 'PASS' : 'MISS'}`);
        console.log(`ratio wall(sequential kubectl, extrapolated from ${SEQUENTIAL})/wall(workflow) = ${round(ratioSequential, 2)}  target >= ${TARGET_SEQUENTIAL}  ${seqOk ? 'PASS' : 'MISS'}`);
        console.log(`max history events in one execution = ${eventsMax}${large ? ` (large class: ${large.maxEvents} in ${large.maxEventsExecution})` : ' (no large class: BENCH_WORKSPACES_LARGE unset)'}  target <= ${MAX_EVENTS}  ${eventsOk ? 'PASS' : 'MISS'}`);
        console.log(
          `worker process peak RSS = ${mb(workerPeak)} MB (VmHWM over its whole life ${mb(hwm)} MB; VmRSS sampled: ${N}-student run ${mb(wfRssPeak)} MB` +
            `${large ? `, large run ${mb(large.rssPeak)} MB` : ''})  target < 1024 MB (the fan-out bound; the issue names no figure)  ${rssOk ? 'PASS' : 'MISS'}`,
        );

        const result: BenchResult = {
          name: 'workspaces',
          date: new Date().toISOString(),
          cores: m.cores,
          sizes: { students: N, sequentialSample: SEQUENTIAL, large: LARGE, warmup: WARMUP, concurrency: CONCURRENCY, kwokNodes: nodes, objectsPerStudent: 9, tuning },
          measurements: {
            workflowMs: ms(wfMs),
            directMs: ms(directMs),
            sequentialMeasuredMs: ms(seqMs),
            sequentialPerStudentMs: ms(seqPerStudent),
            sequentialExtrapolatedMs: ms(seqExtrapolated),
            ratioWorkflowOverDirect: round(ratioDirect, 3),
            ratioSequentialOverWorkflow: round(ratioSequential, 3),
            executions: execs.length,
            maxEvents: maxExec.events,
            maxEventsExecution: maxExec.workflowId,
            eventsPerExecution: execs.map((e) => e.events),
            large: large ? { ms: ms(large.ms), executions: large.executions, maxEvents: large.maxEvents, maxEventsExecution: large.maxEventsExecution, workerRssPeakMb: mb(large.rssPeak), cpu: cpuJson(large.cpu) } : null,
            workerRssPeakMb: mb(workerPeak),
            workerRssHwmMb: mb(hwm),
            workerRssRunPeakMb: mb(wfRssPeak),
            workerRssTimelineMb: rss.timeline,
            simulatedVolumesProvisioned: csi.provisioned,
            cpu: { workflow: cpuJson(wfSplit), direct: cpuJson(directSplit), sequential: cpuJson(seqSplit) },
          },
          ratio: round(ratioDirect, 2),
          target: `<= ${TARGET_DIRECT}`,
          pass: directOk, // the summary line prints each check with its own PASS/MISS
          checks: [
            { name: 'sequential kubectl / workflow', value: round(ratioSequential, 2), target: `>= ${TARGET_SEQUENTIAL}`, pass: seqOk },
            { name: 'max history events per execution', value: eventsMax, target: `<= ${MAX_EVENTS}`, pass: eventsOk },
            { name: 'worker peak RSS MB', value: mb(workerPeak), target: '< 1024', pass: rssOk },
          ],
          notes: [
            'ratio = workflow wall time / direct client-node wall time (same manifests, server-side apply, pool of 50, each student waits for its Deployment Available)',
            `sequential kubectl: measured on ${SEQUENTIAL} students and extrapolated linearly to ${N} (per-student time x ${N})`,
            'order: warm-up, sequential, direct, workflow: the workflow runs against the fullest cluster',
            'volumes are bound by a SIMULATED CSI provisioner; pods are run by kwok (no containers)',
            ...(LARGE ? [] : ['no large class (BENCH_WORKSPACES_LARGE unset): the events check covers the N-student run only']),
          ],
        };
        console.log(`results: ${writeResult(result)}`);
        return result;
      } finally {
        await worker.stop();
      }
    });
  } finally {
    csi.stop();
    await cluster.stop();
  }
}
