// The run's default output (no spec.output) keeps large fan-outs' per-item results out of the
// result payload (a paged forEach output holds only a reference to them, whatever the count); an
// explicit spec.output can still return them.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileYaml, useTemporal } from './_defs.ts';
import { DEFAULT_OUTPUT_MAX_RESULTS } from '../../workflows/interpreter/run.ts';
import { isItemsRef } from '../../workflows/interpreter/item-pages.ts';
import { itemsOf } from '../support/fan-out.ts';

const t = useTemporal();

const definition = (output = '') => `
apiVersion: workflows.cedille.etsmtl.ca/v1alpha1
kind: WorkflowDefinition
metadata: { name: default-output }
spec:
  input:
    type: object
    properties: { items: { type: array, items: { type: integer } } }
  steps:
    - id: fan
      forEach:
        items: "\${{ inputs.items }}"
        concurrency: 50
        onItemFailure: continue
        steps:
          - id: double
            set: { value: "\${{ item * 2 }}" }
          - id: check
            if: "\${{ item == 7 }}"
            then:
              - id: boom
                fail: { message: "item \${{ item }} is unlucky" }
${output}`;

const items = Array.from({ length: DEFAULT_OUTPUT_MAX_RESULTS + 1 }, (_, i) => i);

describe('default run output', { concurrency: true }, () => {
  it('summarises a fan-out past the threshold, failures kept', async () => {
    const h = await t.env.start(await compileYaml(definition()), { items });
    const out = (await h.result()) as { fan: Record<string, unknown> };
    assert.equal(out.fan.total, items.length);
    assert.equal(out.fan.failed, 1);
    assert.ok(isItemsRef(out.fan.results), 'a reference, not the results');
    // Bounded when the pages are stored (a result store: CEDILLE_TEST_CLAIM_CHECK); inline pages are the fallback.
    if (out.fan.results.$items.index) assert.ok(JSON.stringify(out.fan).length < 2048, `${JSON.stringify(out.fan).length} bytes`);
    assert.deepEqual((out.fan.failures as { index: number }[]).map((f) => f.index), [7]);
    assert.equal((await itemsOf(out.fan.results)).length, items.length);
  });

  it('returns every result when spec.output asks for them', async () => {
    const h = await t.env.start(await compileYaml(definition('  output: "${{ steps.fan.output.results.size() }}"')), { items });
    assert.equal(await h.result(), items.length);
  });
});
