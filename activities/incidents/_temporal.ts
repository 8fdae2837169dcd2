// A Temporal client for the incident activities (visibility queries): TEMPORAL_ADDRESS (and TLS,
// token: infra/temporal-connection.ts) and TEMPORAL_NAMESPACE like the worker, with the worker's
// data converter, connected on first use.
import { Client, Connection } from '@temporalio/client';
import { dataConverterFromEnv } from '../../codec/index.ts';
import { temporalConnectionFromEnv } from '../../infra/temporal-connection.ts';

let client: Promise<Client> | undefined;

export function temporalClient(env: NodeJS.ProcessEnv = process.env): Promise<Client> {
  client ??= (async () => {
    const connection = await Connection.connect(temporalConnectionFromEnv(env));
    const dataConverter = dataConverterFromEnv(env);
    return new Client({ connection, namespace: env.TEMPORAL_NAMESPACE ?? 'default', ...(dataConverter ? { dataConverter } : {}) });
  })().catch((err: unknown) => {
    client = undefined;
    throw err;
  });
  return client;
}
