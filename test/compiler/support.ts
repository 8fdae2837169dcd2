// Shared by the compiler tests: the real activity catalog and a compact way to write definitions.
import { loadCatalog } from '../../activities/catalog.ts';
import { compileSource, type CompileOptions, type CompileResult } from '../../workflows/compiler/index.ts';
import type { CompiledDefinition } from '../../workflows/dsl/compiled.ts';

export const catalog = await loadCatalog();

/** Approver group sizes the tests pretend to know. */
export const approverCount = (group: string): number | undefined => ({ sre: 3, 'ets-it': 2 })[group];

/** A definition document around `spec` (YAML lines indented as under `spec:`). */
export function definition(spec: string, name = 'test'): string {
  return ['apiVersion: workflows.cedille.etsmtl.ca/v1alpha1', 'kind: WorkflowDefinition', 'metadata:', `  name: ${name}`, 'spec:', indent(spec, 2)].join('\n') + '\n';
}

/** A definition whose spec has only these steps (YAML list, unindented). */
export function withSteps(steps: string, extraSpec = ''): string {
  return definition(`${extraSpec ? `${extraSpec}\n` : ''}steps:\n${indent(steps, 2)}`);
}

export function compile(text: string, opts: Partial<CompileOptions> = {}): CompileResult {
  return compileSource(text, { catalog, approverCount, ...opts });
}

export function compiled(text: string, opts: Partial<CompileOptions> = {}): CompiledDefinition {
  const result = compile(text, opts);
  if (!result.ok) throw new Error(`expected to compile:\n${result.errors.map((e) => `${e.line}:${e.column} ${e.path}: ${e.message}`).join('\n')}`);
  return result.definition;
}

/** The error messages (with paths) of a definition expected not to compile. */
export function errorsOf(text: string, opts: Partial<CompileOptions> = {}): string[] {
  const result = compile(text, opts);
  if (result.ok) throw new Error('expected compile errors');
  return result.errors.map((e) => `${e.path}: ${e.message}`);
}

function indent(text: string, by: number): string {
  const lines = text.replace(/^\n+|\s+$/g, '').split('\n');
  const margin = Math.min(...lines.filter((l) => l.trim()).map((l) => l.length - l.trimStart().length));
  return lines.map((l) => (l.trim() ? ' '.repeat(by) + l.slice(margin) : '')).join('\n');
}
