// Tabulates reports/mutation/NAME-LABEL.json (bench/mutation/run-modules.sh) per module:
//   node bench/mutation/summary.mjs [--survivors] [NAME-LABEL ...]
// score = (killed + timeout) / (killed + timeout + survived + no coverage), as Stryker counts it.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const dir = 'reports/mutation';
const args = process.argv.slice(2);
const survivors = args.includes('--survivors');
const names = args.filter((a) => !a.startsWith('--'));
const files = names.length ? names.map((n) => `${n}.json`) : readdirSync(dir).filter((f) => /-(before|after|run)\.json$/.test(f)).sort();

console.log('| run | mutants | killed | timeout | survived | no coverage | ignored | score |');
console.log('|---|---|---|---|---|---|---|---|');
const lines = [];
for (const f of files) {
  const report = JSON.parse(readFileSync(path.join(dir, f), 'utf8'));
  const count = { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0, Ignored: 0, other: 0 };
  for (const [file, { mutants, source }] of Object.entries(report.files)) {
    const src = source.split('\n');
    for (const m of mutants) {
      if (m.status in count) count[m.status]++;
      else count.other++;
      if (survivors && (m.status === 'Survived' || m.status === 'NoCoverage')) {
        const l = m.location.start.line;
        lines.push(`${f} ${file}:${l}:${m.location.start.column} ${m.status} ${m.mutatorName}: ${JSON.stringify(m.replacement ?? '')}  «${src[l - 1].trim().slice(0, 140)}»`);
      }
    }
  }
  const valid = count.Killed + count.Timeout + count.Survived + count.NoCoverage;
  const score = valid ? ((100 * (count.Killed + count.Timeout)) / valid).toFixed(1) : 'n/a';
  console.log(`| ${f.replace(/\.json$/, '')} | ${valid} | ${count.Killed} | ${count.Timeout} | ${count.Survived} | ${count.NoCoverage} | ${count.Ignored} | ${score} % |`);
}
if (survivors) console.log(lines.join('\n'));
