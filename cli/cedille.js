#!/usr/bin/env node
// The `cedille` executable: registers tsx (the CLI is TypeScript) and runs cli/main.ts.
import process from 'node:process';
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv);
