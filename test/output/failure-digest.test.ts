import { describe, expect, test } from 'vitest';
import { failureDigest } from '../_reporters/failure-digest.ts';

describe('failure digest printed at the end of a test run', () => {
  test('nothing failed: prints nothing', () => {
    expect(failureDigest([], '/r')).toBe('');
  });

  test('names the file relative to the root, the test, the first lines of the error and the rehearsal line, colours stripped and cut', () => {
    const long = `AssertionError: ${'x'.repeat(900)}`;
    const text = failureDigest(
      [
        {
          file: '/r/test/rehearsal/a.test.ts',
          name: 'scenario > none failed',
          messages: ['\u001b[31mexpected 326 to be 0\u001b[39m\nline2\nline3\nline4', long],
          diagnostics: ['rehearsal failed: {"failed":326}', 'rehearsal failed: {"failed":326}'],
        },
      ],
      '/r',
    );
    const lines = text.split('\n');
    expect(lines[0]).toBe('failure digest: 1 failed');
    expect(lines[1]).toBe('✗ test/rehearsal/a.test.ts > scenario > none failed');
    expect(lines[2]).toBe('    expected 326 to be 0 | line2 | line3');
    expect(lines[3].length).toBe(4 + 600 + 1);
    expect(lines[4]).toBe('    rehearsal failed: {"failed":326}');
    expect(lines).toHaveLength(5);
  });
});
