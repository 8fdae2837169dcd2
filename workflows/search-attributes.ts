import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
// Custom search attributes of interpreter runs. Keys are shared by the worker (upserts), the API
// (visibility queries) and the dev server / infra bootstrap (registration).
export const SEARCH_ATTRIBUTES = {
  CedilleDefinition: 'Keyword',
  CedilleDefinitionHash: 'Keyword',
  CedilleStatus: 'Keyword',
  CedilleInitiator: 'Keyword',
} as const;

/** Typed keys for upserts and typed visibility reads. */
export const SEARCH_ATTRIBUTE_KEYS = {
  definition: defineSearchAttributeKey('CedilleDefinition', SearchAttributeType.KEYWORD),
  hash: defineSearchAttributeKey('CedilleDefinitionHash', SearchAttributeType.KEYWORD),
  status: defineSearchAttributeKey('CedilleStatus', SearchAttributeType.KEYWORD),
  initiator: defineSearchAttributeKey('CedilleInitiator', SearchAttributeType.KEYWORD),
};
