import { test } from 'vitest';
import { runSmallRehearsal } from '../test/rehearsal/run-rehearsal.ts';
test('t', async () => {
  const t0 = Date.now();
  const r = await runSmallRehearsal(null);
  console.log('total', (Date.now() - t0) / 1000, 'code', r.code);
  for (const p of r.report.phases) console.log(p.name, p.start, p.end, (Date.parse(p.end!) - Date.parse(p.start!)) / 1000);
  console.log(Object.keys(r.report));
  r.cleanup();
}, 300000);
