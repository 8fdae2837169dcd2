// Structured edits of git.commitFiles: changes computed from the file as it is on the branch tip at
// commit time, not from a copy read earlier. A push rejected because someone else pushed first is
// retried by re-applying the edits on the new tip, which is what lets two onboardings adding their
// line to apps/argo-apps/kustomization.yaml at the same time both land. Every edit is idempotent.
import { ApplicationFailure } from '@temporalio/common';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { addKustomizationResource, removeKustomizationResource } from '../gitops/_kustomization.ts';

const path = z.string().min(1).max(500);

export const Edit = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('kustomizationAddResource'),
    path,
    resource: z.string().min(1).max(500).describe('entry of `resources:`, e.g. ../my-app/'),
    comment: z.string().max(200).optional().describe('trailing # comment of the new line'),
  }).describe('adds an entry at the end of resources: of a kustomization, keeping the rest of the file byte for byte'),
  z.strictObject({
    kind: z.literal('kustomizationRemoveResource'),
    path,
    resource: z.string().min(1).max(500),
  }).describe('removes an entry of resources: (its line)'),
  z.strictObject({
    kind: z.literal('yamlSet'),
    path,
    key: z.array(z.union([z.string(), z.number().int().nonnegative()])).min(1).describe('path of keys in the YAML document'),
    value: z.unknown(),
  }).describe('sets a value in a YAML file (Document API: comments kept); creates the file if absent'),
  z.strictObject({
    kind: z.literal('appendLine'),
    path,
    line: z.string().max(1000).refine((l) => !l.includes('\n'), 'one line'),
  }).describe('appends a line to a text file unless that exact line is already there; creates the file if absent'),
]);
export type Edit = z.infer<typeof Edit>;

function invalid(edit: Edit, message: string): ApplicationFailure {
  return ApplicationFailure.create({ message: `git: edit ${edit.kind} of ${edit.path}: ${message}`, type: 'GitEditFailed', nonRetryable: true });
}

/** The new content of `edit.path` given its current content (undefined = absent, and stays so). */
export function applyEdit(edit: Edit, current: string | undefined): string | undefined {
  try {
    switch (edit.kind) {
      case 'kustomizationAddResource':
        if (current === undefined) throw new Error('file not found');
        return addKustomizationResource(current, edit.resource, { comment: edit.comment, what: edit.path });
      case 'kustomizationRemoveResource':
        if (current === undefined) return undefined;
        return removeKustomizationResource(current, edit.resource, { what: edit.path });
      case 'yamlSet': {
        const doc = parseDocument(current ?? '');
        if (doc.errors.length) throw new Error(`not valid YAML: ${doc.errors[0]!.message}`);
        doc.setIn(edit.key, doc.createNode(edit.value));
        const out = doc.toString();
        return current !== undefined && parseDocument(current).toString() === out ? current : out;
      }
      case 'appendLine': {
        const text = current ?? '';
        if (text.split('\n').includes(edit.line)) return text;
        return `${text}${text && !text.endsWith('\n') ? '\n' : ''}${edit.line}\n`;
      }
    }
  } catch (e) {
    if (e instanceof ApplicationFailure) throw e;
    throw invalid(edit, (e as Error).message);
  }
}
