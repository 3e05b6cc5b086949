import { startTestPostgres } from './test/_helpers/pg.ts';
let t0 = performance.now();
const [a, b] = await Promise.all([startTestPostgres(), startTestPostgres()]);
console.log('start', (performance.now() - t0).toFixed(0));
t0 = performance.now();
await Promise.all([a.dispose(), b.dispose()]);
console.log('stop', (performance.now() - t0).toFixed(0));
