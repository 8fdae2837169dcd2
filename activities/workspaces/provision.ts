// One student's workspace, every object in one server-side apply: namespace (labels
// course/student/term), quota, limits, network isolation, home PVC, the workspace, its Service and
// TLS Ingress, and the student's RoleBinding. Idempotent; the workflow owns these objects, so it
// takes back fields changed by hand (force), e.g. a workspace scaled to zero when the student left.
import { z } from 'zod';
import { ApplicationFailure } from '@temporalio/common';
import { defineActivity } from '../define.ts';
import { kube } from '../kubernetes/_client.ts';
import { classified } from '../kubernetes/_errors.ts';
import { workspaceManifests, workspaceNamespace, type Manifest } from '../kubernetes/builders/index.ts';
import { workspaceEgressExcept } from '../../worker/config.ts';
import { Course, Profile, Student, courseKey, studentKey, termKey, STUDENT_ID_ANNOTATION } from './_params.ts';

export default defineActivity({
  name: 'workspaces.provision',
  description: "Creates or updates one student's workspace (namespace, quota, limits, network policy, PVC, workspace, Service, Ingress, RoleBinding).",
  input: z.strictObject({
    course: Course,
    student: Student,
    profile: Profile,
    domain: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'a DNS domain').describe('Workspaces are served at <namespace>.<domain>'),
    clusterIssuer: z.string().default('letsencrypt'),
    ingressControllerNamespace: z.string().default('projectcontour'),
    suspended: z.boolean().default(false),
  }),
  output: z.object({ studentId: z.string(), namespace: z.string(), url: z.string(), created: z.int(), objects: z.int() }),
  async handler({ course, student, profile, domain, clusterIssuer, ingressControllerNamespace, suspended }, ctx) {
    // Where a workspace may not connect is the worker's configuration, never the run's input.
    let egressExcept: string[];
    try {
      egressExcept = workspaceEgressExcept();
    } catch (err) {
      throw ApplicationFailure.nonRetryable((err as Error).message, 'WorkspaceEgressConfig');
    }
    const manifests: Manifest[] = workspaceManifests({
      course: courseKey(course),
      student: studentKey(student),
      term: termKey(course),
      image: profile.image,
      port: profile.port,
      resources: { requests: { cpu: profile.cpu.request, memory: profile.memory.request }, limits: { cpu: profile.cpu.limit, memory: profile.memory.limit } },
      storage: { size: profile.storage, storageClassName: profile.storageClass },
      domain,
      clusterIssuer,
      ingressControllerNamespace,
      egressExcept,
      user: student.email,
      suspended,
      ...(profile.readinessPath ? { readinessPath: profile.readinessPath } : {}),
      ...(profile.mountPath ? { mountPath: profile.mountPath } : {}),
    });
    const ns = manifests[0]!;
    (ns.metadata as { annotations?: Record<string, string> }).annotations = { [STUDENT_ID_ANNOTATION]: student.id, 'cedille.etsmtl.ca/student-email': student.email };
    const client = kube();
    let created = 0;
    for (const [i, m] of manifests.entries()) {
      const meta = m.metadata as { name: string; namespace?: string };
      const { created: isNew } = await classified(`apply ${m.kind} ${meta.namespace ? `${meta.namespace}/` : ''}${meta.name}`, ctx.signal, () =>
        client.apply(m as Parameters<typeof client.apply>[0], { force: true, signal: ctx.signal }),
      );
      if (isNew) created++;
      ctx.heartbeat({ applied: i + 1, of: manifests.length });
    }
    const namespace = workspaceNamespace(courseKey(course), studentKey(student));
    return { studentId: student.id, namespace, url: `https://${namespace}.${domain}/`, created, objects: manifests.length };
  },
});
