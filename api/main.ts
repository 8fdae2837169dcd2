// Runs the API on its own (containers): `tsx api/main.ts`.
// Env: API_HOST (default 127.0.0.1), API_PORT (3000), TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, DATABASE_URL (PostgreSQL of the
// API's state; unset: embedded under the data dir), LOG_LEVEL.
import { buildApi } from './app.ts';
import { apiConfigFromEnv } from './config.ts';

const config = apiConfigFromEnv();
const app = await buildApi({ config, logger: { level: process.env.LOG_LEVEL ?? 'info' } });
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void app.close());
const url = await app.listen({ host: config.host, port: config.port });
if (config.devTokens === 'opt-in') {
  app.log.warn(`CEDILLE_DEV_TOKENS=1: the dev tokens (${config.dataDir}/dev-tokens.json) are accepted on ${url}, NOT a loopback address: anyone reaching it with them is admin or approver. Use OIDC or CEDILLE_API_TOKENS_FILE beyond one machine.`);
}
