// The agent's version: the repository's package.json version (the image copies package.json).
import { readFileSync } from 'node:fs';

export const AGENT_VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
