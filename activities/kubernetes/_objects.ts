// Schemas and helpers shared by the kubernetes.* activities.
import { z } from 'zod';
import type { KObject, ObjectRef } from './_client.ts';

/** A Kubernetes name (DNS-1123 subdomain; labels are stricter, names of most kinds are subdomains). */
export const kName = z.string().min(1).max(253).regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be a lowercase DNS-1123 name');
export const kNamespace = z.string().min(1).max(63).regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS-1123 label');

/** A manifest: apiVersion, kind and metadata.name are required; everything else goes to the server as is. */
export const manifest = z.looseObject({
  apiVersion: z.string().min(1),
  kind: z.string().min(1),
  metadata: z.looseObject({ name: kName, namespace: kNamespace.optional() }),
});

export const objectRef = {
  apiVersion: z.string().min(1).describe('e.g. v1, apps/v1'),
  kind: z.string().min(1).describe('e.g. Deployment'),
  namespace: kNamespace.optional().describe('for namespaced kinds; default: the kubeconfig context namespace, else default'),
};

/** A summary of one object, as the activities return it. */
export const objectSummary = z.object({
  apiVersion: z.string(),
  kind: z.string(),
  namespace: z.string().optional(),
  name: z.string(),
  uid: z.string(),
  resourceVersion: z.string(),
});

export function summary(obj: KObject): z.input<typeof objectSummary> {
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}),
    name: obj.metadata.name,
    uid: obj.metadata.uid ?? '',
    resourceVersion: obj.metadata.resourceVersion ?? '',
  };
}

/** The object without metadata.managedFields (noise for workflows, and large). */
export function trimmed(obj: KObject): KObject {
  const { managedFields: _drop, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

/** `apps/v1 Deployment ns/name`, for messages. */
export function describeRef(ref: Partial<ObjectRef>): string {
  const where = ref.name ? (ref.namespace ? `${ref.namespace}/${ref.name}` : ref.name) : ref.namespace ? `in ${ref.namespace}` : '';
  return [ref.apiVersion, ref.kind, where].filter(Boolean).join(' ');
}
