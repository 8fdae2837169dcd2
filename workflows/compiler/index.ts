// The definition compiler: YAML (with positions) -> structural and semantic checks -> CompiledDefinition.
export { compileSource, compileFile, type CompileOptions, type CompileResult } from './compile.ts';
export { formatCompileError, type CompileError, type CompileErrorCode } from './errors.ts';
export { parseDuration } from './duration.ts';
export { calledNames, type DefinitionResolver } from './calls.ts';
export { canonicalJson } from './hash.ts';
export { DEFAULT_RETRY, DEFAULT_START_TO_CLOSE_MS } from './normalize.ts';
