// The proof of step 6: a token of the test service account from the TokenRequest API logs in at
// auth/kubernetes (Vault asks the API server's TokenReview, as its reviewer) and reads the test
// secret; the Vault token is revoked afterwards. Needs no root token, so it also runs on a second
// bootstrap after the root token was revoked.
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { defineActivity } from '../define.ts';
import { VaultRef, vaultClient } from './_client.ts';
import { readBoundKeys } from './_keys.ts';
import { ensureServiceAccount, requestToken } from './_kube.ts';
import { Probe } from './_probe.ts';

export default defineActivity({
  name: 'vault.proveLogin',
  description: 'Logs in with a test service account token (TokenRequest) at auth/kubernetes and reads the test secret.',
  input: z.strictObject({
    vault: VaultRef,
    kvMount: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/).default('secret'),
    probe: Probe.default({ serviceAccount: 'vault-bootstrap-probe', role: 'cedille-bootstrap-probe', secretPath: 'cedille/bootstrap-probe' }),
  }),
  output: z.object({ loggedIn: z.literal(true), serviceAccount: z.string(), policies: z.array(z.string()), secretVersion: z.int() }),
  async handler({ vault: ref, kvMount, probe }, ctx) {
    // The login sends a service account token minted here: only to the Vault this bootstrap initialised.
    const keys = await readBoundKeys(ref, ctx.signal);
    if (keys.state === 'absent') throw ApplicationFailure.create({ message: `vault: no init material in ${ref.namespace}/${ref.keysSecret} binds ${ref.address} to this bootstrap`, type: 'VaultKeysMissing', nonRetryable: true });
    const namespace = probe.namespace ?? ref.namespace;
    await ensureServiceAccount(namespace, probe.serviceAccount, ctx.signal);
    const jwt = await requestToken(namespace, probe.serviceAccount, 600, ctx.signal);
    const client = await vaultClient(ref, ctx.signal);
    const login = (await client.call<{ auth?: { client_token: string; policies: string[] } }>('POST', 'auth/kubernetes/login', { body: { role: probe.role, jwt } })).body.auth;
    if (!login?.client_token) throw ApplicationFailure.create({ message: 'vault: Kubernetes login returned no token', type: 'VaultLoginFailed', nonRetryable: true });
    try {
      const read = (await client.call<{ data?: { data?: Record<string, unknown>; metadata?: { version?: number } } }>('GET', `${kvMount}/data/${probe.secretPath}`, { token: login.client_token })).body;
      if (!read.data?.data || !('value' in read.data.data)) {
        throw ApplicationFailure.create({ message: `vault: ${kvMount}/${probe.secretPath} has no value`, type: 'VaultProbeFailed', nonRetryable: true });
      }
      return { loggedIn: true as const, serviceAccount: `${namespace}/${probe.serviceAccount}`, policies: login.policies, secretVersion: read.data.metadata?.version ?? 0 };
    } finally {
      await client.call('POST', 'auth/token/revoke-self', { token: login.client_token, ok: [200, 204, 403] }).catch(() => undefined);
    }
  },
});
