import { loadSqlite } from './lib/mappings/sqlite.ts';
const main = async () => {
  const m = await loadSqlite(); const db = new m.Database();
  const s = db.prepare("SELECT ($first_name||'_'||$last_name)");
  const n = 300000;
  let t0 = performance.now();
  for (let i = 0; i < n; i++) { s.bind({ $first_name: 'a' + i, $last_name: 'b' }); s.step(); s.get(null, { useBigInt: true }); s.reset(); }
  console.log('object+bigint', Math.round(n / ((performance.now() - t0) / 1000)));
  t0 = performance.now();
  for (let i = 0; i < n; i++) { s.bind(['a' + i, 'b']); s.step(); s.get(); s.reset(); }
  console.log('array', Math.round(n / ((performance.now() - t0) / 1000)));
  t0 = performance.now();
  for (let i = 0; i < n; i++) { s.bind(['a' + i, 'b']); s.step(); s.reset(); }
  console.log('array no get', Math.round(n / ((performance.now() - t0) / 1000)));
  t0 = performance.now();
  for (let i = 0; i < n; i++) { s.bind(['a' + i, 'b']); s.reset(); }
  console.log('bind only', Math.round(n / ((performance.now() - t0) / 1000)));
  const s2 = db.prepare("SELECT 1");
  t0 = performance.now();
  for (let i = 0; i < n; i++) { s2.step(); s2.get(); s2.reset(); }
  console.log('select 1', Math.round(n / ((performance.now() - t0) / 1000)));
};
main();
