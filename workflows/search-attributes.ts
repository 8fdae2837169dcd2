// Custom search attributes of interpreter runs. Keys are shared by the worker (upserts), the API
// (visibility queries) and the dev server / infra bootstrap (registration).
export const SEARCH_ATTRIBUTES = {
  CedilleDefinition: 'Keyword',
  CedilleDefinitionHash: 'Keyword',
  CedilleStatus: 'Keyword',
  CedilleInitiator: 'Keyword',
} as const;
