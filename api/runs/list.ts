// One page of a visibility listing. The SDK's `workflow.list()` iterator hides the page token, so
// this calls ListWorkflowExecutions itself and decodes rows the way the SDK does (memo through the
// data converter, typed search attributes).
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
// Internal helper of the pinned SDK (1.24): the same decoding `describe()` and `list()` use.
import { executionInfoFromRaw } from '@temporalio/client/lib/helpers.js';

export interface RunPage {
  runs: WorkflowExecutionInfo[];
  /** Opaque (base64url) token of the next page; absent on the last page. */
  nextPageToken?: string;
}

export async function listRuns(client: Client, query: string, pageSize: number, pageToken?: string): Promise<RunPage> {
  const response = await client.workflowService.listWorkflowExecutions({
    namespace: client.options.namespace,
    query,
    pageSize,
    nextPageToken: pageToken ? Buffer.from(pageToken, 'base64url') : Buffer.alloc(0),
  });
  const runs = await Promise.all(response.executions.map((raw) => executionInfoFromRaw(raw, client.options.loadedDataConverter, raw, client.options.namespace)));
  const next = response.nextPageToken?.length ? Buffer.from(response.nextPageToken).toString('base64url') : undefined;
  return { runs, ...(next ? { nextPageToken: next } : {}) };
}
