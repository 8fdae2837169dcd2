// Schemathesis (the `st` CLI), the OpenAPI contract fuzzer of test/api/contract.test.ts:
// $SCHEMATHESIS_PATH, an `st` on PATH, or PyPI `schemathesis` in its own venv in the tool cache.
import { ensurePipTool, type PipTool } from './pip-tool.ts';
import { TOOL_VERSIONS } from './versions.ts';

const SCHEMATHESIS: PipTool = { pkg: 'schemathesis', version: TOOL_VERSIONS.schemathesis, bin: 'st', envVar: 'SCHEMATHESIS_PATH' };

export function ensureSchemathesis(env = process.env): Promise<string> {
  return ensurePipTool(SCHEMATHESIS, env);
}
