// Where the stack `npm start` runs can be reached, kept in `<data dir>/endpoints.json`: the CLI reads the
// API's URL from it (when the default port was taken, the API is elsewhere), and the next `npm start`
// asks for the same ports again, so the URL stays the same across restarts while the ports are free.
// Kept light (node:fs only): the CLI loads it on every command.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const ENDPOINTS_FILE = 'endpoints.json';

export interface Endpoints {
  apiUrl: string;
  temporalAddress?: string;
  uiUrl?: string;
  /** Process id of `npm start` when it wrote the file. */
  pid?: number;
  startedAt?: string;
}

export function endpointsFile(dataDir: string): string {
  return join(dataDir, ENDPOINTS_FILE);
}

/** The endpoints last written in `dataDir`, or undefined (none, or unreadable: a stale file must not break anything). */
export function readEndpoints(dataDir: string): Endpoints | undefined {
  try {
    const doc = JSON.parse(readFileSync(endpointsFile(dataDir), 'utf8')) as Partial<Endpoints>;
    if (typeof doc.apiUrl !== 'string') return undefined;
    new URL(doc.apiUrl);
    return doc as Endpoints;
  } catch {
    return undefined;
  }
}

/** The port of a URL or `host:port` address, when it names one. */
export function portOf(address: string | undefined): number | undefined {
  if (!address) return undefined;
  const m = /:(\d{1,5})\/?$/.exec(address.replace(/\/+$/, ''));
  const port = m ? Number(m[1]) : NaN;
  return port > 0 && port < 65536 ? port : undefined;
}
