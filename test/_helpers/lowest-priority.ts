import { readdirSync } from 'node:fs';
import os from 'node:os';

/**
 * Setup file of the `rehearsal-beside` project (vitest.config.ts): its worker — and so the
 * database servers and child processes it starts, which inherit the priority — runs at the lowest
 * CPU priority, so the rehearsal running at the same time gets every cycle it asks for and this
 * project only the ones it leaves idle. Linux sets a priority per thread: every thread of the
 * process is lowered (threads started later inherit it); elsewhere only the main one.
 */
const LOWEST = 19;
let threads: number[] = [];
try {
  threads = readdirSync('/proc/self/task').map(Number);
} catch {
  threads = [process.pid];
}
for (const thread of threads) {
  try {
    if (os.getPriority(thread) < LOWEST) os.setPriority(thread, LOWEST);
  } catch {
    // a thread that ended meanwhile
  }
}
