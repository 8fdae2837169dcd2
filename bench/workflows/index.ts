// The benchmark worker's workflow bundle: everything the real worker serves (the interpreter, the
// batch child, the named-definition default) plus hand-written baselines.
export * from '../../workflows/index.ts';
export { default } from '../../workflows/index.ts';
export { handWrittenSequence, handWrittenPool } from './hand-written.ts';
