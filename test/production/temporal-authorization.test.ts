// Temporal's own JWT authorizer, configured as docs/SECURITY.md ("Temporal's authorization") tells the
// deployment to: the production server (infra/temporal/config/temporal.yaml with TEMPORAL_AUTH_JWKS_URL)
// checks every call's bearer token against the identity provider's JWKS (here a local one) and the
// `permissions` claim. The grants of the documented table are enough for the worker and the API to run
// a workflow end to end (with the default authorizer, polling is a write call: the worker needs
// `write`); a caller without a token, or with another key, or with read only, can neither start nor
// signal.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { startPostgres, type Postgres } from '../../infra/tools/postgres.ts';
import { startTemporalServer, type TemporalServer } from '../../infra/tools/temporal-server.ts';
import { temporalConnectionFromEnv } from '../../infra/temporal-connection.ts';
import { createWorker } from '../../worker/worker.ts';
import { ticketed } from '../support/temporal.ts';
import { fixture } from '../interpreter/_defs.ts';
import { dataConverterFromEnv } from '../../codec/index.ts';

const NS = 'default';
let postgres: Postgres;
let server: TemporalServer;
let jwks: Server;
let signingKey: CryptoKey;
let otherKey: CryptoKey;

async function token(permissions: string[], key: CryptoKey = signingKey, subject = 'svc'): Promise<string> {
  return new SignJWT({ permissions }).setProtectedHeader({ alg: 'RS256', kid: 'test-key' }).setSubject(subject).setIssuedAt().setExpirationTime('1h').sign(key);
}

/** A client as the project builds one from its environment: the token from TEMPORAL_API_KEY, plaintext on loopback. */
async function clientWith(apiKey: string | undefined): Promise<Client> {
  const options = temporalConnectionFromEnv({ TEMPORAL_ADDRESS: server.address, TEMPORAL_TLS: 'false', ...(apiKey ? { TEMPORAL_API_KEY: apiKey } : {}) });
  const dataConverter = dataConverterFromEnv();
  return new Client({ connection: await Connection.connect(options), namespace: NS, ...(dataConverter ? { dataConverter } : {}) });
}

/** Asserts that connecting with `apiKey` and making the call is refused: PERMISSION_DENIED (7) or UNAUTHENTICATED (16). */
async function assertRefused(apiKey: string | undefined, call: (c: Client) => Promise<unknown>, what: string): Promise<void> {
  let client: Client | undefined;
  try {
    client = await clientWith(apiKey);
    await call(client);
    assert.fail(`${what} was allowed`);
  } catch (e) {
    const err = e as { code?: number; cause?: { code?: number }; message?: string };
    const code = err.code ?? err.cause?.code;
    assert.ok(code === 7 || code === 16 || /unauthorized|permission/i.test(err.message ?? ''), `${what}: ${err.message}`);
  } finally {
    await client?.connection.close();
  }
}

before(async () => {
  const pair = await generateKeyPair('RS256');
  signingKey = pair.privateKey;
  otherKey = (await generateKeyPair('RS256')).privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };
  jwks = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  const { port } = jwks.address() as { port: number };
  postgres = await startPostgres();
  server = await startTemporalServer({ postgres, authorization: { jwksUrl: `http://127.0.0.1:${port}/jwks`, adminToken: await token(['temporal-system:admin'], signingKey, 'setup') } });
});
after(async () => {
  await server?.stop();
  await postgres?.stop();
  jwks?.close();
});

describe("Temporal's JWT authorizer, as the deployment configures it", () => {
  it('lets the worker and the API (default:write each) run a workflow end to end', async () => {
    const taskQueue = `auth-${randomUUID()}`;
    const native = await NativeConnection.connect(temporalConnectionFromEnv({ TEMPORAL_ADDRESS: server.address, TEMPORAL_TLS: 'false', TEMPORAL_API_KEY: await token([`${NS}:write`], signingKey, 'worker') }));
    const worker = await createWorker({ connection: native, namespace: NS, taskQueue });
    const api = await clientWith(await token([`${NS}:write`], signingKey, 'api'));
    try {
      await worker.runUntil(async () => {
        const definition = await fixture('fan-out');
        const workflowId = `auth-${randomUUID()}`;
        const h = await api.workflow.start('interpret', { taskQueue, workflowId, args: [ticketed(workflowId, { definition, input: { items: [1, 2] } })] });
        assert.ok(await h.result());
      });
    } finally {
      await api.connection.close();
      await native.close();
    }
  });

  it('refuses a caller with no token, with a token of another key, or with read only, to start or signal', async () => {
    const definition = await fixture('fan-out');
    const workflowId = `auth-${randomUUID()}`;
    const start = (c: Client) => c.workflow.start('interpret', { taskQueue: 'cedille-workflows', workflowId, args: [{ definition, input: {} }] });
    const signal = (c: Client) => c.workflow.getHandle(workflowId).signal('approval', { stepId: 'x', decision: 'approve' });
    const callers = { 'no token': undefined, 'a token of another key': await token([`${NS}:admin`], otherKey), 'a read-only token': await token([`${NS}:read`]), 'a worker-only token': await token([`${NS}:worker`]) };
    for (const [who, apiKey] of Object.entries(callers)) {
      await assertRefused(apiKey, start, `a start with ${who}`);
      await assertRefused(apiKey, signal, `a signal with ${who}`);
    }
  });
});
