// The worker: hosts the interpreter workflows and every catalog activity on one task queue.
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { DataConverter } from '@temporalio/common';
import { dataConverterFromEnv } from '../codec/index.ts';
import { loadCatalog, type Catalog } from '../activities/catalog.ts';
import { catalogActivities } from './catalog-activities.ts';
import { internalActivities, type DefinitionLookup } from './internal-activities.ts';
import { trustActivities } from './trust-activities.ts';
import { fanOutActivities } from './fan-out-activities.ts';
import { resultPagesFromEnv } from '../codec/result-pages-env.ts';
import { activityGuard, Lineage } from './lineage.ts';
import { TASK_QUEUE } from './config.ts';
import { WORKFLOWS_PATH } from './bundle.ts';
import { DefinitionRegistry } from '../workflows/registry/index.ts';

export interface CreateWorkerOptions {
  connection: NativeConnection;
  namespace?: string;
  taskQueue?: string;
  /** The activity catalog (default: every activity under activities/); tests may add their own. */
  catalog?: Catalog;
  /** Where named workflow types (spec.workflowType) are looked up; default: the built-in definitions (worker/definitions.ts adds the registered ones). */
  registry?: DefinitionLookup;
  /** A prebuilt bundle (tests build it once per run); default: bundle at start. */
  workflowBundle?: { code: string } | { codePath: string };
  /** Payload encryption; default: the codec of CEDILLE_CODEC_KEYS when set (codec/), else clear payloads. */
  dataConverter?: DataConverter;
  /** Extra options (concurrency limits, shutdown grace time, identity). */
  tuning?: Partial<Pick<WorkerOptions, 'maxConcurrentActivityTaskExecutions' | 'maxConcurrentWorkflowTaskExecutions' | 'maxCachedWorkflows' | 'shutdownGraceTime' | 'identity'>>;
}

export async function createWorker(opts: CreateWorkerOptions): Promise<Worker> {
  const catalog = opts.catalog ?? (await loadCatalog());
  const registry = opts.registry ?? (await DefinitionRegistry.load({ catalog }));
  const namespace = opts.namespace ?? 'default';
  const taskQueue = opts.taskQueue ?? TASK_QUEUE;
  const lineage = new Lineage(opts.connection, namespace, taskQueue);
  return Worker.create({
    connection: opts.connection,
    namespace,
    taskQueue,
    ...(opts.workflowBundle ? { workflowBundle: opts.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    activities: { ...catalogActivities(catalog), ...internalActivities(registry), ...trustActivities(registry, lineage), ...fanOutActivities(resultPagesFromEnv()) },
    interceptors: { activity: [activityGuard(lineage)] },
    dataConverter: opts.dataConverter ?? dataConverterFromEnv(),
    maxConcurrentActivityTaskExecutions: 200,
    shutdownGraceTime: '10s',
    ...opts.tuning,
  });
}
