// Where the worker's Moodle web service token may go, and where it comes from: worker configuration
// only. A run input never names a site or a token source, so a run cannot send the token elsewhere.
//   CEDILLE_MOODLE_URL          the Moodle site root, e.g. https://moodle.etsmtl.ca (required)
//   CEDILLE_MOODLE_TOKEN_FILE   a file holding the web service token (a mounted secret), or else
//   CEDILLE_MOODLE_TOKEN_REF    a Vault reference `vault:<path>#<field>` read by the worker, or else
//   MOODLE_TOKEN                the token itself
import { readFileSync } from 'node:fs';
import { ApplicationFailure } from '@temporalio/common';
import { resolveSecret, SecretRefString } from '../_secrets.ts';

/** A site root as one canonical string: scheme, host, port and path, with a trailing slash. */
function canonical(url: URL): string {
  return `${url.origin}${url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`}`;
}

function notConfigured(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, 'MoodleNotConfigured');
}

/** The worker's Moodle site (CEDILLE_MOODLE_URL), as a canonical site root. */
export function moodleSite(env: NodeJS.ProcessEnv = process.env): string {
  const raw = env.CEDILLE_MOODLE_URL?.trim();
  if (!raw) throw notConfigured('the worker has no Moodle site: set CEDILLE_MOODLE_URL (e.g. https://moodle.etsmtl.ca) in its environment');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw notConfigured(`CEDILLE_MOODLE_URL '${raw}' is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw notConfigured(`CEDILLE_MOODLE_URL '${raw}' is not an http(s) URL`);
  if (url.username || url.password || url.search || url.hash) throw notConfigured(`CEDILLE_MOODLE_URL '${raw}' must be a plain site root (no credentials, query or fragment)`);
  return canonical(url);
}

/**
 * The site a run asked for, checked against the worker's: an input may repeat the configured site
 * (or say nothing), never choose another one. Refused before any request, naming the field.
 */
export function checkRequestedSite(field: string, requested: string, site: string): void {
  if (!requested) return;
  let same = false;
  try {
    same = canonical(new URL(requested)) === site;
  } catch {
    /* not a URL: refused below */
  }
  if (!same) {
    throw ApplicationFailure.nonRetryable(
      `${field}: '${requested.slice(0, 200)}' is not the worker's Moodle site (${site}, CEDILLE_MOODLE_URL); the web service token is only sent there. Leave ${field} out or give that site.`,
      'MoodleSiteRefused',
    );
  }
}

/** The worker's web service token, from the first of CEDILLE_MOODLE_TOKEN_FILE, CEDILLE_MOODLE_TOKEN_REF, MOODLE_TOKEN that is set. */
export async function moodleToken(env: NodeJS.ProcessEnv = process.env, signal?: AbortSignal): Promise<string> {
  let token: string | undefined;
  if (env.CEDILLE_MOODLE_TOKEN_FILE) {
    try {
      token = readFileSync(env.CEDILLE_MOODLE_TOKEN_FILE, 'utf8');
    } catch (err) {
      throw notConfigured(`CEDILLE_MOODLE_TOKEN_FILE: cannot read ${env.CEDILLE_MOODLE_TOKEN_FILE}: ${(err as Error).message}`);
    }
  } else if (env.CEDILLE_MOODLE_TOKEN_REF) {
    const ref = SecretRefString.safeParse(env.CEDILLE_MOODLE_TOKEN_REF);
    if (!ref.success) throw notConfigured(`CEDILLE_MOODLE_TOKEN_REF must be a Vault reference vault:<path>#<field>`);
    token = await resolveSecret(ref.data, { signal });
  } else {
    token = env.MOODLE_TOKEN;
  }
  token = token?.trim();
  if (!token) throw ApplicationFailure.nonRetryable('the worker has no Moodle web service token: set CEDILLE_MOODLE_TOKEN_FILE, CEDILLE_MOODLE_TOKEN_REF or MOODLE_TOKEN', 'MoodleAuth');
  return token;
}
