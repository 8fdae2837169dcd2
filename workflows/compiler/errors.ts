// Compile errors: one shape for every problem the compiler finds, positioned in the YAML source.

export type CompileErrorCode =
  | 'yaml'
  | 'schema'
  | 'unknown-key'
  | 'step-type'
  | 'duplicate-id'
  | 'duration'
  | 'unknown-activity'
  | 'activity-input'
  | 'expression-syntax'
  | 'expression-type'
  | 'condition-type'
  | 'unknown-input'
  | 'unknown-var'
  | 'unknown-step'
  | 'step-later'
  | 'step-out-of-scope'
  | 'foreach-concurrency'
  | 'foreach-variable'
  | 'foreach-results'
  | 'approval-timeout'
  | 'approval-escalation'
  | 'approval-quorum'
  | 'unknown-definition'
  | 'call-cycle'
  | 'name-taken'
  | 'io'
  | 'internal';

export interface CompileError {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  /** Where in the document, e.g. `spec.steps[1].with.mesage` (empty for the whole document). */
  path: string;
  message: string;
  code: CompileErrorCode;
}

/** `file:line:column: path: message`, the format editors and terminals recognise. */
export function formatCompileError(e: CompileError): string {
  return `${e.file}:${e.line}:${e.column}: ${e.path ? `${e.path}: ` : ''}${e.message}`;
}

export function sortErrors(errors: CompileError[]): CompileError[] {
  return [...errors].sort((a, b) => a.line - b.line || a.column - b.column || a.path.localeCompare(b.path));
}
