import { createInterface } from 'node:readline/promises';

/** How the engine asks a person something (the typed environment name, the "go" at the switch). */
export interface Prompter {
  /** False when nobody can answer (no TTY, CI): every confirmation then defaults to abort. */
  readonly interactive: boolean;
  ask(question: string): Promise<string>;
}

/** Asks on the terminal; not interactive when stdin is not a TTY. */
export function terminalPrompter(stdin: NodeJS.ReadableStream = process.stdin, stderr: NodeJS.WritableStream = process.stderr): Prompter {
  return {
    interactive: Boolean((stdin as NodeJS.ReadStream).isTTY),
    async ask(question: string): Promise<string> {
      const rl = createInterface({ input: stdin, output: stderr, terminal: true });
      try {
        return await rl.question(question);
      } finally {
        rl.close();
      }
    },
  };
}

/** Nobody to ask. */
export const noPrompter: Prompter = {
  interactive: false,
  async ask(): Promise<string> {
    return '';
  },
};

/** Answers from a list, in order (tests). */
export function scriptedPrompter(answers: string[]): Prompter & { readonly asked: string[] } {
  const asked: string[] = [];
  return {
    interactive: true,
    asked,
    async ask(question: string): Promise<string> {
      asked.push(question);
      return answers.shift() ?? '';
    },
  };
}
