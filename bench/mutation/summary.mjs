// Tabulates reports/mutation/NAME-LABEL.json (bench/mutation/run-modules.sh):
//   node bench/mutation/summary.mjs [--survivors] [NAME-LABEL ...]   one row per run
//   node bench/mutation/summary.mjs --pairs                           one row per module, before and after
// score = (killed + timeout) / (killed + timeout + survived + no coverage), as Stryker counts it.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const dir = 'reports/mutation';
const args = process.argv.slice(2);
const survivors = args.includes('--survivors');
const names = args.filter((a) => !a.startsWith('--'));

function counts(run) {
  const report = JSON.parse(readFileSync(path.join(dir, `${run}.json`), 'utf8'));
  const c = { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0, Ignored: 0, other: 0, lines: [] };
  for (const [file, { mutants, source }] of Object.entries(report.files)) {
    const src = source.split('\n');
    for (const m of mutants) {
      if (m.status in c) c[m.status]++;
      else c.other++;
      if (m.status === 'Survived' || m.status === 'NoCoverage') {
        const l = m.location.start.line;
        c.lines.push(`${run} ${file}:${l}:${m.location.start.column} ${m.status} ${m.mutatorName}: ${JSON.stringify(m.replacement ?? '')}  «${src[l - 1].trim().slice(0, 140)}»`);
      }
    }
  }
  c.valid = c.Killed + c.Timeout + c.Survived + c.NoCoverage;
  c.score = c.valid ? ((100 * (c.Killed + c.Timeout)) / c.valid).toFixed(1) : 'n/a';
  return c;
}

if (args.includes('--pairs')) {
  const modules = [...new Set(readdirSync(dir).filter((f) => /-(before|after)\.json$/.test(f)).map((f) => f.replace(/-(before|after)\.json$/, '')))].sort();
  const cell = (c) => (c ? `${c.Killed + c.Timeout} / ${c.Survived} / ${c.NoCoverage}` : '-');
  console.log('| module | mutants | before: killed / survived / no coverage | after | score before | score after |');
  console.log('|---|---|---|---|---|---|');
  for (const m of modules) {
    const b = existsSync(path.join(dir, `${m}-before.json`)) ? counts(`${m}-before`) : null;
    const a = existsSync(path.join(dir, `${m}-after.json`)) ? counts(`${m}-after`) : null;
    console.log(`| ${m} | ${(a ?? b).valid} | ${cell(b)} | ${cell(a)} | ${b ? `${b.score} %` : '-'} | ${a ? `${a.score} %` : '-'} |`);
  }
} else {
  const runs = names.length ? names : readdirSync(dir).filter((f) => /-(before|after|run)\.json$/.test(f)).sort().map((f) => f.replace(/\.json$/, ''));
  console.log('| run | mutants | killed | timeout | survived | no coverage | ignored | score |');
  console.log('|---|---|---|---|---|---|---|---|');
  const lines = [];
  for (const run of runs) {
    const c = counts(run);
    console.log(`| ${run} | ${c.valid} | ${c.Killed} | ${c.Timeout} | ${c.Survived} | ${c.NoCoverage} | ${c.Ignored} | ${c.score} % |`);
    lines.push(...c.lines);
  }
  if (survivors) console.log(lines.join('\n'));
}
