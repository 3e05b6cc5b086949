import { describe, expect, test } from 'vitest';
import { shadowSchema } from '../../lib/config/common-schema.ts';
import { CutoverError } from '../../lib/errors.ts';
import type { ShadowAnswer, ShadowSample } from '../../lib/platform/roles.ts';
import { compareAnswers, rulesForRoute } from '../../lib/shadow/compare-answers.ts';
import { parsePathPattern } from '../../lib/shadow/json-path.ts';
import { routeTemplate } from '../../lib/shadow/route-template.ts';
import { ShadowTally } from '../../lib/shadow/shadow-tally.ts';

const ans = (body: unknown, status = 200): ShadowAnswer => ({ status, body: typeof body === 'string' ? body : JSON.stringify(body), ms: 1 });
const none = rulesForRoute([], '/x');
const rules = (r: Record<string, unknown>) => rulesForRoute(shadowSchema.parse({ compare: [r] }).compare, '/x');

describe('compareAnswers', () => {
  test('a different status is the difference; bodies are then not compared', () => {
    expect(compareAnswers(ans({ a: 1 }), ans({ a: 1 }, 404), none)).toEqual({ equal: false, paths: ['(status)'] });
  });

  test('names each differing JSON path, key order does not matter, a missing key or element is a difference', () => {
    const d = compareAnswers(ans({ id: 1, total: '12.30', items: [{ q: 1 }, { q: 2 }] }), ans({ items: [{ q: 1 }, { q: 3 }, { q: 4 }], total: '12.31', id: 1 }), none);
    expect(d.paths).toEqual(['$.items[1].q', '$.items[2]', '$.total']);
    expect(compareAnswers(ans({ a: 1, b: 2 }), ans({ b: 2, a: 1 }), none).equal).toBe(true);
    expect(compareAnswers(ans({ a: 1 }), ans({ a: 1, b: null }), none).paths).toEqual(['$.b']);
    expect(compareAnswers(ans({ a: 1 }), ans({ a: '1' }), none).paths).toEqual(['$.a']);
  });

  test('ignored paths (ids, timestamps) are left out, at any depth with ..', () => {
    const r = rules({ ignore: ['$.requestId', '$..updatedAt', '$.items[*].lineId'] });
    const a = ans({ requestId: 'a', updatedAt: 1, items: [{ lineId: 7, q: 1, updatedAt: 3 }] });
    const b = ans({ requestId: 'b', updatedAt: 2, items: [{ lineId: 9, q: 1, updatedAt: 4 }] });
    expect(compareAnswers(a, b, r).equal).toBe(true);
    expect(compareAnswers(a, b, none).paths).toEqual(['$.items[0].lineId', '$.items[0].updatedAt', '$.requestId', '$.updatedAt']);
  });

  test('an unordered array is compared as a set; other arrays keep their order', () => {
    const a = ans({ orders: [{ id: 1 }, { id: 2 }], tags: ['x', 'y'] });
    const b = ans({ orders: [{ id: 2 }, { id: 1 }], tags: ['y', 'x'] });
    expect(compareAnswers(a, b, rules({ unordered: ['$.orders'] })).paths).toEqual(['$.tags[0]', '$.tags[1]']);
    expect(compareAnswers(a, b, rules({ unordered: ['$.orders', '$.tags'] })).equal).toBe(true);
  });

  test('numbers within the tolerance are equal; beyond it they differ', () => {
    expect(compareAnswers(ans({ v: 1.0 }), ans({ v: 1.004 }), rules({ numericTolerance: 0.005 })).equal).toBe(true);
    expect(compareAnswers(ans({ v: 1.0 }), ans({ v: 1.01 }), rules({ numericTolerance: 0.005 })).paths).toEqual(['$.v']);
  });

  test('bodies that are not JSON are compared as text', () => {
    expect(compareAnswers(ans('hello'), ans('hello'), none).equal).toBe(true);
    expect(compareAnswers(ans('hello'), ans('{"a":1}'), none).paths).toEqual(['$']);
  });

  test('fails if a rule path is not a JSON path: CONFIG_INVALID naming it', () => {
    const err = (() => {
      try {
        parsePathPattern('items.id');
      } catch (e) {
        return e as CutoverError;
      }
    })();
    expect(err?.code).toBe('CONFIG_INVALID');
    expect(err?.message).toContain('"items.id"');
  });
});

describe('routeTemplate', () => {
  test('a configured template first, else numeric and uuid segments become :id; the query is dropped', () => {
    expect(routeTemplate('/orders/12?x=1', [])).toBe('/orders/:id');
    expect(routeTemplate('/customers/7/orders', ['/customers/:customer/orders'])).toBe('/customers/:customer/orders');
    expect(routeTemplate('/o/123e4567-e89b-12d3-a456-426614174000', [])).toBe('/o/:id');
    expect(routeTemplate('/reconciliation', [])).toBe('/reconciliation');
  });
});

let seq = 0;
const sample = (path: string, blue: unknown, green: unknown, blueAgain?: unknown): ShadowSample => ({
  seq: ++seq,
  at: new Date(1_000_000 + seq * 10).toISOString(),
  method: 'GET',
  path,
  blue: ans(blue),
  green: ans(green),
  ...(blueAgain !== undefined ? { blueAgain: ans(blueAgain) } : {}),
});
const figures = { sampled: 0, dropped: { concurrency: 0, tooLarge: 0, overwritten: 0, blueFailed: 0 } };
const timedOut: ShadowAnswer = { status: null, body: '', failure: 'timeout', error: 'did not answer within 1000 ms', ms: 1000 };
/** A sample whose green (or blue's second call) gave `green` as is (a failure, a status). */
const failing = (path: string, green: ShadowAnswer, blueAgain?: ShadowAnswer): ShadowSample => ({ ...sample(path, { v: 1 }, { v: 1 }), green, ...(blueAgain ? { blueAgain } : {}) });
const settings = { percent: 10, noisePercent: 20, timeoutMs: 1000, maxConcurrent: 8 };

describe('ShadowTally', () => {
  test('differences blue also shows against itself are noise, not mismatches; differences beyond the noise are', () => {
    const t = new ShadowTally(shadowSchema.parse({ minSamples: 4 }), 1_000_000);
    t.add(sample('/inv/1', { q: 1, at: 'a' }, { q: 1, at: 'b' }, { q: 1, at: 'c' })); // blue vs blue: $.at is noisy
    t.add(sample('/inv/2', { q: 1, at: 'a' }, { q: 1, at: 'x' }));
    t.add(sample('/inv/3', { q: 1, at: 'a' }, { q: 2, at: 'a' }));
    t.add(sample('/inv/4', { q: 5, at: 'a' }, { q: 5, at: 'a' }, { q: 5, at: 'a' }));
    const r = t.report(figures, settings, 10).routes[0]!;
    expect(r).toMatchObject({ route: '/inv/:id', samples: 4, equal: 1, noise: 2, mismatches: 1, mismatchPercent: 25, noiseSamples: 2, noiseDiffs: 1, noisePercent: 50, noisyPaths: ['$.at'], judged: true });
    expect(r.examples[0]).toMatchObject({ class: 'mismatch', request: 'GET /inv/3', paths: ['$.q'] });
  });

  test('a difference gone on the recheck is transient (replication lag); one still there is a mismatch', () => {
    const t = new ShadowTally(shadowSchema.parse({ minSamples: 1 }), 1_000_000);
    const a = t.add(sample('/o/1', { s: 'PAID' }, { s: 'CREATED' }))!;
    const b = t.add(sample('/o/2', { total: '1.00' }, { total: '1.01' }))!;
    t.rechecked(a, { blue: ans({ s: 'PAID' }), green: ans({ s: 'PAID' }) });
    t.rechecked(b, { blue: ans({ total: '1.00' }), green: ans({ total: '1.01' }) });
    const r = t.report(figures, settings, 10).routes[0]!;
    expect(r).toMatchObject({ samples: 2, transient: 1, mismatches: 1 });
    expect(r.examples.map((e) => e.class)).toEqual(['mismatch', 'transient']);
  });

  test('an accepted difference is counted apart with its reason, never as equal or as a mismatch, and needs no recheck', () => {
    const t = new ShadowTally(shadowSchema.parse({ minSamples: 1, accepted: [{ route: '/c/:id', paths: ['$.email'], reason: 'green lower-cases e-mails' }] }), 1_000_000);
    expect(t.add(sample('/c/1', { email: 'A@x' }, { email: 'a@x' }))).toBeNull();
    expect(t.add(sample('/c/2', { email: 'A@x', n: 1 }, { email: 'a@x', n: 2 }))).not.toBeNull();
    const r = t.report(figures, settings, 10).routes[0]!;
    expect(r).toMatchObject({ samples: 2, equal: 0, accepted: 1, mismatches: 1, acceptedReasons: [{ reason: 'green lower-cases e-mails', count: 1 }] });
  });

  test('the gate: too few samples is not proven (never green); a judged route above the limit is red; a route below minSamples is not judged', () => {
    const few = new ShadowTally(shadowSchema.parse({ minSamples: 5 }), 1_000_000);
    few.add(sample('/a/1', { v: 1 }, { v: 1 }));
    const g0 = few.report(figures, settings, 10).gate;
    expect(g0.ok).toBe(false);
    expect(g0.unproven).toContain('only 1 sample(s) compared');

    const t = new ShadowTally(shadowSchema.parse({ minSamples: 5, maxMismatchPercent: 10 }), 1_000_000);
    for (let i = 0; i < 9; i++) t.add(sample(`/a/${i}`, { v: 1 }, { v: 1 }));
    t.add(sample('/a/9', { v: 1 }, { v: 2 })); // 10 %: at the limit, not above it
    t.add(sample('/b/1', { v: 1 }, { v: 2 })); // 1 sample: not judged
    const ok = t.report(figures, settings, 10);
    expect(ok.gate).toMatchObject({ ok: true, reasons: [] });
    expect(ok.routes.find((r) => r.route === '/b/:id')).toMatchObject({ judged: false, mismatches: 1 });
    t.add(sample('/a/10', { v: 1 }, { v: 3 }));
    const red = t.report(figures, settings, 10).gate;
    expect(red.ok).toBe(false);
    expect(red.reasons[0]).toContain('/a/:id: 18.18 % of 11 samples differ (2)');
    expect(red.reasons[0]).toContain('differs at $.v');
  });

  test('fails if samples are spread so thin that no route is judged: "not proven", even with every sample differing', () => {
    const t = new ShadowTally(shadowSchema.parse({ minSamples: 3 }), 1_000_000);
    for (const r of ['a', 'b', 'c', 'd']) t.add(sample(`/${r}/1`, { v: 1 }, { v: 2 }));
    const g = t.report(figures, settings, 10).gate;
    expect(g.ok).toBe(false);
    expect(g.unproven).toContain('4 sample(s) compared in 10 s, but no route reached 3 (shadow.minSamples)');
  });

  test('mismatch rate over time: one point per route and bucket', () => {
    const t = new ShadowTally(shadowSchema.parse({ minSamples: 1 }), 1_000_000);
    t.add({ ...sample('/a/1', { v: 1 }, { v: 2 }), at: new Date(1_000_000 + 500).toISOString() });
    t.add({ ...sample('/a/2', { v: 1 }, { v: 1 }), at: new Date(1_000_000 + 5_500).toISOString() });
    const o = t.report(figures, settings, 10).overTime;
    expect(o.bucketSeconds).toBe(1);
    expect(o.points).toEqual([
      { t: 0, route: '/a/:id', samples: 1, mismatches: 1, failed: 0 },
      { t: 5, route: '/a/:id', samples: 1, mismatches: 0, failed: 0 },
    ]);
  });

  test('fails if green times out on most reads blue answered: each is green\'s failure, judged per route with an example (it never passes on the few that answered)', () => {
    const t = new ShadowTally(shadowSchema.parse({ minSamples: 5 }), 1_000_000);
    for (let i = 0; i < 8; i++) expect(t.add(failing(`/o/${i}`, timedOut))).toBeNull(); // no recheck: a client on green would have waited in vain
    t.add(failing('/o/8', { status: null, body: '', failure: 'error', error: 'connect ECONNREFUSED', ms: 1 }));
    t.add(sample('/o/9', { v: 1 }, { v: 1 }));
    const rep = t.report(figures, settings, 10);
    const r = rep.routes[0]!;
    expect(r).toMatchObject({ route: '/o/:id', samples: 10, equal: 1, failed: 9, failedPercent: 90, failedKinds: { timeout: 8, error: 1, '5xx': 0 }, mismatches: 0, judged: true });
    expect(r.examples[0]).toMatchObject({ class: 'failed', paths: ['(no answer)'], blue: { status: 200 }, green: { status: null, error: 'did not answer within 1000 ms' } });
    expect(rep.gate.ok).toBe(false);
    expect(rep.gate.reasons[0]).toContain('/o/:id: green failed 90 % of 10 reads blue answered (8 timed out, 1 transport error(s)), above the limit 1 % (shadow.maxFailedPercent)');
    expect(rep.gate.reasons[0]).toContain('e.g. GET /o/0: green did not answer within 1000 ms (blue 200)');
  });

  test('a 5xx where blue answered is green\'s failure, not a difference blue\'s noise could excuse; 5xx on both sides is alike; a 5xx declared accepted is counted apart', () => {
    const t = new ShadowTally(shadowSchema.parse({ minSamples: 1, maxFailedPercent: 50 }), 1_000_000);
    t.add(failing('/p/1', ans({ v: 1 }), ans({ v: 1 }, 404))); // blue differs from itself in its status: (status) is a noise path
    t.add(failing('/p/2', ans({ error: 'boom' }, 500)));
    t.add({ ...sample('/p/3', { e: 1 }, { e: 1 }), blue: ans({ e: 1 }, 502), green: ans({ e: 1 }, 502) });
    t.add(failing('/p/4', ans({ v: 1 }), ans({ v: 1 }, 503))); // blue's own second call failed: not a noise difference
    const r = t.report(figures, settings, 10).routes[0]!;
    expect(r).toMatchObject({ samples: 4, failed: 1, failedKinds: { '5xx': 1 }, noise: 0, equal: 3, noiseSamples: 2, noiseDiffs: 1, noiseFailed: 1, noisyPaths: ['(status)'] });
    expect(r.examples.find((e) => e.class === 'failed')).toMatchObject({ request: 'GET /p/2', paths: ['(status)'], green: { status: 500 } });

    const a = new ShadowTally(shadowSchema.parse({ minSamples: 1, accepted: [{ route: '/p/:id', paths: ['(status)'], reason: 'green answers 501 for the retired export' }] }), 1_000_000);
    a.add(failing('/p/1', ans({ error: 'gone' }, 501)));
    a.add(failing('/p/2', timedOut)); // no answer is never accepted
    expect(a.report(figures, settings, 10).routes[0]).toMatchObject({ accepted: 1, failed: 1, failedKinds: { timeout: 1 } });
  });

  test('green failures within shadow.maxFailedPercent pass; blue\'s own failed second calls are shown beside them, never subtracted', () => {
    const t = new ShadowTally(shadowSchema.parse({ minSamples: 5, maxFailedPercent: 10 }), 1_000_000);
    for (let i = 0; i < 9; i++) t.add(sample(`/q/${i}`, { v: 1 }, { v: 1 }));
    t.add(failing('/q/9', timedOut, timedOut)); // 10 %: at the limit
    expect(t.report(figures, settings, 10).gate.ok).toBe(true);
    t.add(failing('/q/10', timedOut));
    const g = t.report(figures, settings, 10);
    expect(g.routes[0]).toMatchObject({ failed: 2, noiseSamples: 1, noiseFailed: 1, noisePercent: null });
    expect(g.gate.ok).toBe(false);
    expect(g.gate.reasons[0]).toContain("blue's own second call failed 1 of 1");
  });

  test('examples show one of each class before a second of any: failures are not hidden behind many mismatches', () => {
    const t = new ShadowTally(shadowSchema.parse({ minSamples: 1, examples: 2 }), 1_000_000);
    for (let i = 0; i < 4; i++) t.add(sample(`/r/${i}`, { v: 1 }, { v: 2 }));
    t.add(failing('/r/9', timedOut));
    expect(t.report(figures, settings, 10).routes[0]!.examples.map((e) => e.class)).toEqual(['mismatch', 'failed']);
  });
});
