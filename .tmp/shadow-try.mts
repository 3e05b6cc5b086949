import { runSmallRehearsal } from '../test/rehearsal/run-rehearsal.ts';
const fault = process.argv[2] ?? null;
const r = await runSmallRehearsal(fault === 'none' ? null : fault);
console.log('exit', r.code);
console.log(r.out.text().split('\n').filter((l) => /shadow|rehearsal|!/.test(l)).join('\n'));
console.log(JSON.stringify(r.report.shadow?.routes.map((x) => ({ ...x, examples: x.examples.map((e) => ({ ...e, blue: e.blue.body.slice(0, 300), green: e.green.body.slice(0, 300) })) })), null, 1).slice(0, 6000));
console.log(JSON.stringify(r.report.verdict));
r.cleanup();
