#!/usr/bin/env node
// The `cutover` command. The kit is TypeScript run through tsx so that `npx cutover` works from
// a fresh clone with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../lib/cli/main.ts');
process.exitCode = await main(process.argv);
