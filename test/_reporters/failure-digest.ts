import type { UserConsoleLog } from 'vitest';
import type { Reporter, TestModule } from 'vitest/node';

/**
 * Prints, as the very last lines of a run, one short block per failed test: its file and name,
 * the first lines of its error, and the "rehearsal failed: …" line the rehearsal helper logs.
 * CI shows only the tail of the output; the default reporter's failure blocks and diffs push the
 * cause (which requests failed and why) out of that tail.
 */
export default class FailureDigestReporter implements Reporter {
  private readonly diagnostics = new Map<string, string[]>();

  onUserConsoleLog(log: UserConsoleLog): void {
    if (log.type !== 'stderr' || !log.content.startsWith('rehearsal failed:')) return;
    const key = log.taskId ?? '';
    this.diagnostics.set(key, [...(this.diagnostics.get(key) ?? []), log.content.trim()]);
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const failures: FailedTest[] = [];
    for (const m of testModules) {
      const moduleDiagnostics = [...this.diagnostics.entries()].filter(([id]) => id === m.id || id.startsWith(`${m.id}_`)).flatMap(([, lines]) => lines);
      const moduleErrors = m.errors().map((e) => e.message);
      if (moduleErrors.length > 0) failures.push({ file: m.moduleId, name: '(file)', messages: moduleErrors, diagnostics: moduleDiagnostics });
      for (const t of m.children.allTests()) {
        const r = t.result();
        if (r.state !== 'failed') continue;
        failures.push({ file: m.moduleId, name: t.fullName, messages: (r.errors ?? []).map((e) => e.message), diagnostics: moduleDiagnostics });
      }
    }
    const text = failureDigest(failures, process.cwd());
    if (text) process.stdout.write(`\n${text}\n`);
  }
}

export interface FailedTest {
  readonly file: string;
  readonly name: string;
  readonly messages: readonly string[];
  readonly diagnostics: readonly string[];
}

const ESC = String.fromCharCode(27);
const ANSI = new RegExp(`${ESC}\\[[0-9;]*m`, 'g');

/** The digest's text: empty when nothing failed; each message cut to its first 3 lines, 600 characters. */
export function failureDigest(failures: readonly FailedTest[], root: string): string {
  if (failures.length === 0) return '';
  const short = (s: string, max: number) => {
    const plain = s.replace(ANSI, '').split('\n').slice(0, 3).join(' | ');
    return plain.length > max ? `${plain.slice(0, max)}…` : plain;
  };
  const lines = [`failure digest: ${failures.length} failed`];
  for (const f of failures) {
    const file = f.file.startsWith(`${root}/`) ? f.file.slice(root.length + 1) : f.file;
    lines.push(`✗ ${file} > ${f.name}`);
    for (const m of f.messages.slice(0, 2)) lines.push(`    ${short(m, 600)}`);
    for (const d of [...new Set(f.diagnostics)].slice(0, 2)) lines.push(`    ${short(d, 600)}`);
  }
  return lines.join('\n');
}
