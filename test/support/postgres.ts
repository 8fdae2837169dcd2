// Databases of the run's PostgreSQL (test/run.ts starts one, infra/tools/postgres.ts, when a file needs
// it: CEDILLE_TEST_POSTGRES_URL, a superuser URL). Each caller gets a new, empty database.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export function testPostgresUrl(): string {
  const url = process.env.CEDILLE_TEST_POSTGRES_URL;
  if (!url) throw new Error('CEDILLE_TEST_POSTGRES_URL is unset: run through `npm test` (test/run.ts starts PostgreSQL for test/{api,incidents,links,registry,production}/ and `*.postgres.*` files)');
  return url;
}

/** The URL of a new database named `<prefix>_<random>` on the run's PostgreSQL. */
export async function testDatabase(prefix = 'test'): Promise<string> {
  const server = testPostgresUrl();
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: server });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  const url = new URL(server);
  url.pathname = `/${name}`;
  return url.toString();
}
