// SIMULATION of a CSI external-provisioner (Mayastor's, on the real platform): no storage driver
// runs in the local cluster (tests, `npm start -- --local-cluster`), so this watches PersistentVolumeClaims of the given storage classes and
// creates a matching PersistentVolume pre-bound to each claim; the real PV controller (in
// kube-controller-manager) then binds them, and pods using the claims can be scheduled.
import { KubeConfig, Watch, CoreV1Api, StorageV1Api, type V1PersistentVolumeClaim } from '@kubernetes/client-node';

export interface SimulatedProvisioner {
  provisioned: number;
  stop(): void;
}

export async function startSimulatedCsiProvisioner(kubeconfig: string, storageClasses: string[] = ['mayastor']): Promise<SimulatedProvisioner> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const storage = kc.makeApiClient(StorageV1Api);
  // The storage classes exist on the platform; here they point at the simulated provisioner.
  for (const name of storageClasses) {
    await storage
      .createStorageClass({ body: { metadata: { name }, provisioner: 'simulated.csi.cedille.test', volumeBindingMode: 'Immediate', reclaimPolicy: 'Delete' } })
      .catch((err: { code?: number }) => {
        if (err.code !== 409) throw err;
      });
  }
  const state: SimulatedProvisioner = { provisioned: 0, stop: () => undefined };
  const seen = new Set<string>();
  const provision = async (pvc: V1PersistentVolumeClaim) => {
    const uid = pvc.metadata?.uid;
    const { namespace, name } = pvc.metadata ?? {};
    const storageClassName = pvc.spec?.storageClassName ?? '';
    if (!uid || !namespace || !name || seen.has(uid) || pvc.spec?.volumeName || !storageClasses.includes(storageClassName)) return;
    seen.add(uid);
    await core
      .createPersistentVolume({
        body: {
          metadata: { name: `pvc-${uid}`, labels: { 'cedille.test/simulated-csi': 'true' } },
          spec: {
            capacity: { storage: pvc.spec?.resources?.requests?.storage ?? '1Gi' },
            accessModes: pvc.spec?.accessModes ?? ['ReadWriteOnce'],
            storageClassName,
            persistentVolumeReclaimPolicy: 'Retain',
            hostPath: { path: `/simulated/${uid}` },
            claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace, name, uid },
          },
        },
      })
      .then(() => void state.provisioned++)
      .catch((err: { code?: number }) => {
        if (err.code !== 409) seen.delete(uid);
      });
  };
  let controller: AbortController | undefined;
  let stopped = false;
  const watch = async (): Promise<void> => {
    if (stopped) return;
    controller = await new Watch(kc).watch(
      '/api/v1/persistentvolumeclaims',
      {},
      (type, obj: V1PersistentVolumeClaim) => void (type !== 'DELETED' && provision(obj)),
      () => void setTimeout(() => void watch(), 200),
    );
  };
  // Claims created before the watch started.
  for (const pvc of (await core.listPersistentVolumeClaimForAllNamespaces()).items) await provision(pvc);
  await watch();
  state.stop = () => {
    stopped = true;
    controller?.abort();
  };
  return state;
}
