// `npm start` runs the worker and the API in one process: they must sign and verify with one key
// (trust/signing-key.ts), or the worker refuses every run the API starts ("the run ticket is not
// signed by this platform") and every approval the API relays.
import { join } from 'node:path';
import { loadNotifyConfig } from '../../activities/notify/config.ts';
import { signingKeyFromEnv } from '../../trust/signing-key.ts';

/**
 * Points the worker at the key the API uses: without CEDILLE_LINK_SECRET(_FILE), at the data dir's
 * link-secret the API configuration just created, named explicitly so that a missing file is an
 * error rather than "no key". Then checks the worker's key (its notify config's link secret, else
 * the environment's, as worker/trust-activities.ts reads it) is the API's; throws naming the fix if not.
 */
export function shareSigningKey(env: NodeJS.ProcessEnv, dataDir: string, apiKey: string): void {
  if (!env.CEDILLE_LINK_SECRET && !env.CEDILLE_LINK_SECRET_FILE) env.CEDILLE_LINK_SECRET_FILE = join(dataDir, 'link-secret');
  const workerKey = loadNotifyConfig(env)?.link.secret ?? signingKeyFromEnv(env);
  if (workerKey !== apiKey) {
    throw new Error(
      'the worker would not use the API\'s signing key: the linkSecret/linkSecretFile of CEDILLE_NOTIFY_CONFIG differs from ' +
        'CEDILLE_LINK_SECRET / CEDILLE_LINK_SECRET_FILE / the data dir\'s link-secret. Drop it from the notify config or set the same key',
    );
  }
}
