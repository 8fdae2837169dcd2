// The local cluster's simulated CSI provisioner (infra/cluster/), on the test run's cluster.
import { startSimulatedCsiProvisioner as start, type SimulatedProvisioner } from '../../infra/cluster/simulated-csi-provisioner.ts';
import { testKubeconfigPath } from './cluster.ts';

export type { SimulatedProvisioner };

export function startSimulatedCsiProvisioner(storageClasses: string[] = ['mayastor'], kubeconfig = testKubeconfigPath()): Promise<SimulatedProvisioner> {
  return start(kubeconfig, storageClasses);
}
