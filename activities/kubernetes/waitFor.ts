import { z } from 'zod';
import { ApplicationFailure } from '@temporalio/common';
import { defineActivity } from '../define.ts';
import { kube, type KObject } from './_client.ts';
import { classified, kubeFailure, statusOf, type KubeStatus } from './_errors.ts';
import { describeRef, kName, objectRef } from './_objects.ts';
import { condition, observed, observedText, satisfied, type Condition } from './_conditions.ts';

/** What a waitFor heartbeat records: a later attempt (worker restart) keeps the first attempt's deadline. */
export interface WaitProgress {
  startedAt: number;
  deadline: number;
  observed: string;
  resourceVersion?: string;
}

function describeCondition(c: Condition): string {
  if ('deleted' in c) return 'deletion';
  if ('field' in c) return c.field;
  return `${c.type}=${c.status}`;
}

function asProgress(details: unknown): WaitProgress | undefined {
  const d = details as Partial<WaitProgress> | undefined;
  return d && typeof d.startedAt === 'number' && typeof d.deadline === 'number' ? (d as WaitProgress) : undefined;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(done, Math.max(0, ms));
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

type WatchEnd = { kind: 'satisfied' } | { kind: 'deadline' } | { kind: 'aborted' } | { kind: 'ended' } | { kind: 'error'; error: unknown };

export default defineActivity({
  name: 'kubernetes.waitFor',
  description:
    'Waits until an object satisfies a condition: a status.conditions entry ({ type, status }), a field comparison ' +
    '({ field: "status.readyReplicas >= 1" }) or its deletion ({ deleted: true }). Watches (re-listing after watch ' +
    'errors), heartbeats its progress; a retried attempt keeps the first deadline. Past timeoutSeconds: WaitTimeout ' +
    '(non-retryable) with the last observed status. Use a heartbeatTimeout so a lost worker is noticed.',
  input: z.strictObject({
    ...objectRef,
    name: kName,
    condition,
    timeoutSeconds: z.int().min(1).max(7 * 24 * 3600).default(600),
    heartbeatSeconds: z.number().min(0.1).max(60).default(5),
  }),
  output: z.object({
    present: z.boolean(),
    resourceVersion: z.string().nullable(),
    observed: z.record(z.string(), z.unknown()),
    elapsedSeconds: z.number(),
    resumed: z.boolean().describe('whether this attempt resumed the wait of an earlier one'),
  }),
  async handler({ condition: cond, timeoutSeconds, heartbeatSeconds, ...ref }, ctx) {
    const client = kube();
    const what = `waitFor ${describeRef(ref)} (${describeCondition(cond)})`;
    const prior = asProgress(ctx.heartbeatDetails);
    const startedAt = prior?.startedAt ?? Date.now();
    const deadline = prior?.deadline ?? startedAt + timeoutSeconds * 1000;
    const fieldSelector = `metadata.name=${ref.name}`;
    let last: KObject | undefined;
    let lastRv: string | undefined;

    const progress = (): WaitProgress => ({ startedAt, deadline, observed: observedText(last), ...(lastRv ? { resourceVersion: lastRv } : {}) });
    ctx.heartbeat(progress());
    const beat = setInterval(() => ctx.heartbeat(progress()), heartbeatSeconds * 1000);
    const result = () => ({
      present: last !== undefined,
      resourceVersion: last?.metadata.resourceVersion ?? null,
      observed: observed(last),
      elapsedSeconds: Math.round((Date.now() - startedAt) / 100) / 10,
      resumed: prior !== undefined,
    });
    const timeout = () =>
      ApplicationFailure.create({
        message: `${what}: not reached after ${Math.round((Date.now() - startedAt) / 1000)}s; last observed: ${observedText(last)}`,
        type: 'WaitTimeout',
        nonRetryable: true,
        details: [{ observed: observed(last) }],
      });

    try {
      const collection = await classified(what, ctx.signal, () => client.collectionPathOf(ref));
      let failures = 0;
      for (;;) {
        if (ctx.signal.aborted) throw ctx.signal.reason;
        if (Date.now() >= deadline) throw timeout();
        // (Re-)list: the current state and the resourceVersion to watch from.
        let listRv: string | undefined;
        try {
          const list = await client.listAt(collection, { fieldSelector }, ctx.signal);
          const item = list.items[0];
          last = item ? { ...item, apiVersion: ref.apiVersion, kind: ref.kind } : undefined;
          listRv = list.metadata?.resourceVersion;
          lastRv = listRv;
          failures = 0;
        } catch (err) {
          if (ctx.signal.aborted) throw ctx.signal.reason;
          const f = kubeFailure(err, what);
          if (f.nonRetryable) throw f;
          failures++;
          ctx.log.warn(`${what}: list failed, retrying`, { error: f.message, failures });
          await sleep(Math.min(200 * 2 ** Math.min(failures, 5), deadline - Date.now()), ctx.signal);
          continue;
        }
        if (satisfied(cond, last)) return result();

        // Watch from there until satisfied, the deadline, or the watch ends.
        const watchStart = Date.now();
        const end = await new Promise<WatchEnd>((resolve) => {
          let finished = false;
          let controller: AbortController | undefined;
          const finish = (e: WatchEnd) => {
            if (finished) return;
            finished = true;
            clearTimeout(timer);
            ctx.signal.removeEventListener('abort', onAbort);
            controller?.abort();
            resolve(e);
          };
          const timer = setTimeout(() => finish({ kind: 'deadline' }), Math.max(0, deadline - Date.now()));
          const onAbort = () => finish({ kind: 'aborted' });
          ctx.signal.addEventListener('abort', onAbort, { once: true });
          const query = {
            fieldSelector,
            resourceVersion: listRv,
            allowWatchBookmarks: true,
            timeoutSeconds: Math.min(300, Math.max(1, Math.ceil((deadline - Date.now()) / 1000) + 1)),
          };
          client
            .watch(
              collection,
              query,
              (type, obj) => {
                if (type === 'ERROR') return finish({ kind: 'error', error: Object.assign(new Error((obj as KubeStatus).message ?? 'watch error'), { statusCode: (obj as KubeStatus).code }) });
                if (obj?.metadata?.resourceVersion) lastRv = obj.metadata.resourceVersion;
                if (type === 'BOOKMARK') return;
                last = type === 'DELETED' ? undefined : { ...obj, apiVersion: ref.apiVersion, kind: ref.kind };
                if (satisfied(cond, last)) finish({ kind: 'satisfied' });
              },
              (err) => finish(err ? { kind: 'error', error: err } : { kind: 'ended' }),
            )
            .then(
              (c) => {
                controller = c;
                if (finished) c.abort();
              },
              (err) => finish({ kind: 'error', error: err }),
            );
        });
        if (end.kind === 'satisfied') return result();
        if (end.kind === 'aborted') throw ctx.signal.reason;
        if (end.kind === 'deadline') throw timeout();
        if (end.kind === 'error') {
          const f = kubeFailure(end.error, what);
          // 410 Gone (resourceVersion too old) just means: re-list.
          if (f.nonRetryable && f.type !== 'Gone' && f.type !== 'Expired') throw f;
          ctx.log.warn(`${what}: watch ended with an error, re-listing`, { error: f.message, status: statusOf(end.error)?.reason });
        }
        // A watch that ends at once (server trouble) backs off before the re-list.
        if (Date.now() - watchStart < 1000) await sleep(Math.min(1000, deadline - Date.now()), ctx.signal);
      }
    } finally {
      clearInterval(beat);
    }
  },
});
