/// <reference types="vite/client" />
/**
 * Every end-to-end rehearsal (test/rehearsal/*.rehearsal.ts), one after another, as ONE test file:
 * vitest gives a file one worker, so the rehearsals never overlap each other, while the suite's
 * other worker runs the files that only need what CPU they leave idle (the `beside-rehearsals`
 * project, at the lowest CPU priority: vitest.config.ts). Separate files would each be a task of
 * their own and two could run at once.
 *
 * One rehearsal: `npx vitest run test/rehearsal/rehearsals.test.ts -t 'green-dies-after-switch'`
 * (-t matches its describe's name; the others' servers are not started).
 */
const scenarios = import.meta.glob('./*.rehearsal.ts', { eager: true });
if (Object.keys(scenarios).length === 0) throw new Error('no test/rehearsal/*.rehearsal.ts found: the rehearsals would pass on nothing');
