import { expect, test } from 'vitest';
import { firstDifference } from '../../lib/platform/reconciliation-difference.ts';

test('a reconciliation difference names the first differing row, each side cut to 120 characters', () => {
  const source = Array.from({ length: 500 }, (_, i) => ({ day: `2024-01-${i}`, orders: i, note: 'x'.repeat(300) }));
  const target = source.map((r, i) => (i === 7 ? { ...r, orders: -1 } : r));
  const text = firstDifference(source, target);
  expect(text).toMatch(/^row 8 of 500\/500: source \{"day":"2024-01-7","orders":7,/);
  expect(text.length).toBeLessThan(300);
  expect(firstDifference([{ n: 1 }], [{ n: 1 }, { n: 2 }])).toBe('row 2 of 1/2: source null vs target {"n":2}');
  expect(firstDifference({ n: 1 }, { n: 1 })).toBe('1 source row(s) vs 1 target row(s)');
});
