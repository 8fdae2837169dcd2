// The proof of step 6: a test service account logs in through Kubernetes auth and reads a test
// secret, which only its policy allows. Names shared by vault.configure (which sets it up) and
// vault.proveLogin (which uses it).
import { z } from 'zod';
import { kName } from '../kubernetes/_objects.ts';

export const Probe = z.strictObject({
  namespace: z.string().optional().describe("Namespace of the test service account (default: Vault's)"),
  serviceAccount: kName.default('vault-bootstrap-probe'),
  role: z.string().regex(/^[a-z0-9-]+$/).default('cedille-bootstrap-probe'),
  secretPath: z.string().regex(/^[a-zA-Z0-9_/-]+$/).default('cedille/bootstrap-probe').describe('Path of the test secret under the KV v2 mount'),
});
export type Probe = z.output<typeof Probe>;

export const probePolicy = (kvMount: string, p: Probe) => `path "${kvMount}/data/${p.secretPath}" {\n  capabilities = ["read"]\n}\n`;
