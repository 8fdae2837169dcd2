import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common';
import { ensureSearchAttributes } from '../../worker/search-attributes.ts';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes.ts';

test('ensureSearchAttributes registers what a namespace lacks, then nothing', async () => {
  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  try {
    // A fresh namespace has none of the project's attributes (the dev server's default one has them all).
    const namespace = `sa-${randomUUID().slice(0, 8)}`;
    await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
    assert.deepEqual((await ensureSearchAttributes(connection, namespace)).sort(), Object.keys(SEARCH_ATTRIBUTES).sort());
    assert.deepEqual(await ensureSearchAttributes(connection, namespace), []);
    const listed = await connection.operatorService.listSearchAttributes({ namespace });
    for (const name of Object.keys(SEARCH_ATTRIBUTES)) assert.ok(name in (listed.customAttributes ?? {}), name);
  } finally {
    await connection.close();
  }
});
