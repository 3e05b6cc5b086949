import type { RehearsalReport, TimelineSample } from './report.ts';

/**
 * A self-contained HTML report: inline CSS and server-rendered SVG charts, no script and no
 * network, so it opens from a file on a machine with no internet.
 */

function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

interface Series {
  readonly name: string;
  readonly color: string;
  readonly points: readonly (readonly [number, number | null])[];
  readonly step?: boolean;
}

const W = 760;
const H = 180;
const PAD = { l: 48, r: 12, t: 14, b: 24 };

/** A red dashed line (and a shaded span while it lasted) where each fault was injected. */
function faultMarks(faults: RehearsalReport['faults'], x: (t: number) => number): string {
  return (faults ?? [])
    .map((f) => {
      const a = x(f.at);
      const span = f.until !== undefined ? `<rect class="fault-span" x="${a.toFixed(1)}" y="${PAD.t}" width="${Math.max(1, x(f.until) - a).toFixed(1)}" height="${H - PAD.t - PAD.b}" fill="#d62828" fill-opacity="0.08"/>` : '';
      return `<g class="fault" data-fault="${esc(f.name)}">${span}<line x1="${a.toFixed(1)}" y1="${PAD.t}" x2="${a.toFixed(1)}" y2="${H - PAD.b}" stroke="#d62828" stroke-dasharray="4 3" stroke-width="1.4"/><text x="${(a + 3).toFixed(1)}" y="${PAD.t + 9}" style="fill:#d62828">${esc(f.name)}</text><title>${esc(`${f.name} at ${(f.at / 1000).toFixed(1)} s: ${f.detail}`)}</title></g>`;
    })
    .join('');
}

function lineChart(id: string, title: string, unit: string, series: readonly Series[], maxT: number, phases: RehearsalReport['phases'], t0: number, faults?: RehearsalReport['faults']): string {
  const all = series.flatMap((s) => s.points.map((p) => p[1]).filter((v): v is number => v !== null));
  const maxY = Math.max(1, ...all) * 1.1;
  const x = (t: number) => PAD.l + (t / Math.max(1, maxT)) * (W - PAD.l - PAD.r);
  const y = (v: number) => H - PAD.b - (v / maxY) * (H - PAD.t - PAD.b);
  const bands = phases
    .filter((p) => p.start && p.end)
    .map((p, i) => {
      const a = x(Date.parse(p.start!) - t0);
      const b = x(Date.parse(p.end!) - t0);
      return `<rect x="${a.toFixed(1)}" y="${PAD.t}" width="${Math.max(1, b - a).toFixed(1)}" height="${H - PAD.t - PAD.b}" fill="${i % 2 ? '#f4f6fb' : '#eef1f8'}"><title>${esc(p.name)}</title></rect>`;
    })
    .join('');
  const paths = series
    .map((s) => {
      let d = '';
      let pen = false;
      let lastY: number | null = null;
      for (const [t, v] of s.points) {
        if (v === null) {
          pen = false;
          continue;
        }
        if (s.step && pen && lastY !== null) d += `L${x(t).toFixed(1)},${y(lastY).toFixed(1)}`;
        d += `${pen ? 'L' : 'M'}${x(t).toFixed(1)},${y(v).toFixed(1)}`;
        pen = true;
        lastY = v;
      }
      return `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.6"><title>${esc(s.name)}</title></path>`;
    })
    .join('');
  const ticks = [0, 0.5, 1]
    .map((f) => `<text x="${PAD.l - 6}" y="${(y(maxY * f) + 4).toFixed(1)}" text-anchor="end">${(maxY * f).toFixed(maxY < 10 ? 1 : 0)}</text>`)
    .join('');
  const xt = [0, 0.25, 0.5, 0.75, 1]
    .map((f) => `<text x="${x(maxT * f).toFixed(1)}" y="${H - 6}" text-anchor="middle">${((maxT * f) / 1000).toFixed(0)}s</text>`)
    .join('');
  const legend = series.map((s) => `<span class="key"><i style="background:${s.color}"></i>${esc(s.name)}</span>`).join('');
  return `<section class="chart" id="${id}"><h3>${esc(title)} <small>${esc(unit)}</small></h3><div class="legend">${legend}</div>
<svg viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="${esc(title)}">${bands}
<line x1="${PAD.l}" y1="${H - PAD.b}" x2="${W - PAD.r}" y2="${H - PAD.b}" stroke="#999"/>${ticks}${xt}${paths}${faultMarks(faults, x)}</svg></section>`;
}

function pts(tl: readonly TimelineSample[], f: (s: TimelineSample) => number | null): [number, number | null][] {
  return tl.map((s) => [s.t, f(s)]);
}

const ROUTE_COLORS = ['#e63946', '#457b9d', '#2a9d8f', '#f4a261', '#6a4c93', '#8d99ae'];

/** The shadow phase: per-route figures, the mismatch rate of each route over time, accepted reasons and example differences. */
function shadowSection(r: RehearsalReport, maxT: number, t0: number): string {
  const s = r.shadow;
  if (!s) return `<h2>Shadow reads</h2><section id="shadow"><p>not compared (${esc(r.phases.find((p) => p.name === 'shadow')?.summary ?? 'phase not run')})</p></section>`;
  const start = Date.parse(s.startedAt) - t0;
  const routes = s.routes.map((x) => x.route);
  const series: Series[] = routes.flatMap((route, i) => {
    const mine = s.overTime.points.filter((p) => p.route === route);
    const color = ROUTE_COLORS[i % ROUTE_COLORS.length]!;
    const rate = (n: (p: (typeof mine)[number]) => number) => mine.map((p) => [start + p.t * 1000, p.samples ? (n(p) / p.samples) * 100 : null] as const);
    return [
      { name: `${route} mismatch %`, color, points: rate((p) => p.mismatches) },
      // a line only for a route green failed on: the chart stays readable when it failed none
      ...(mine.some((p) => p.failed) ? [{ name: `${route} failed by green %`, color, points: rate((p) => p.failed) }] : []),
    ];
  });
  const rows = s.routes
    .map(
      (x) =>
        `<tr class="${x.judged && ((x.mismatchPercent ?? 0) > s.gate.maxMismatchPercent || (x.failedPercent ?? 0) > s.gate.maxFailedPercent) ? 'failed' : ''}"><td>${esc(x.route)}</td><td>${x.samples}</td><td>${x.mismatches}${x.mismatchPercent === null ? '' : ` (${x.mismatchPercent} %)`}</td><td>${x.failed}${x.failed ? ` (${x.failedPercent} %)<br><small>${x.failedKinds.timeout} timed out, ${x.failedKinds.error} errors, ${x.failedKinds['5xx']} 5xx; blue's own second call failed ${x.noiseFailed} of ${x.noiseSamples}</small>` : ''}</td><td>${x.noisePercent === null ? '–' : `${x.noisePercent} %`} of ${x.noiseSamples}${x.noisyPaths.length ? ` <small>${esc(x.noisyPaths.join(', '))}</small>` : ''}</td><td>${x.noise}</td><td>${x.transient}</td><td>${x.accepted}${x.acceptedReasons.map((a) => `<br><small>${a.count}: ${esc(a.reason)}</small>`).join('')}</td><td>${x.judged ? 'yes' : 'no (few samples)'}</td></tr>`,
    )
    .join('');
  const examples = s.routes
    .flatMap((x) => x.examples.map((e) => ({ route: x.route, e })))
    .map(({ e }) => `<tr class="${e.class}"><td>${esc(e.request)}<br><small>${esc(e.at)}</small></td><td>${esc(e.class)}${e.acceptedReason ? `<br><small>${esc(e.acceptedReason)}</small>` : ''}</td><td>${esc(e.paths.join(', '))}${e.recheckPaths ? `<br><small>recheck: ${esc(e.recheckPaths.join(', ') || 'alike')}</small>` : ''}</td><td><pre>${esc(e.blue.status)} ${esc(e.blue.body)}</pre></td><td><pre>${esc(e.green.status)} ${esc(e.green.error ?? e.green.body)}</pre></td></tr>`)
    .join('');
  const gate = s.gate.ok ? `<p class="verdict ok">shadow gate green: every judged route within ${s.gate.maxMismatchPercent} % mismatches and ${s.gate.maxFailedPercent} % failed by green</p>` : `<p class="verdict failed">shadow gate said no: ${[...(s.gate.unproven ? [s.gate.unproven] : []), ...s.gate.reasons].map(esc).join('; ')}</p>`;
  const d = s.dropped;
  return `<h2>Shadow reads</h2><section id="shadow">
<p>${s.compared} reads compared in ${s.seconds.toFixed(0)} s (${s.settings.percent} % of GET/HEAD mirrored to green, ${s.settings.noisePercent} % of those to blue twice for noise; dropped by the kit, neither side's doing: ${d.concurrency} over the concurrency limit, ${d.tooLarge} too large, ${d.overwritten} overwritten, ${d.blueFailed} failed by blue, ${s.unanswered} still unanswered at the end). A mismatch is a difference beyond blue's own noise, still there when both sides were asked again, and not declared accepted. A read green failed (no answer within ${s.settings.timeoutMs} ms, a transport error, a 5xx where blue answered) counts against green, never as noise.</p>
${gate}
<table id="shadow-routes"><tr><th>route</th><th>samples</th><th>mismatched</th><th>failed by green</th><th>noise (blue vs blue)</th><th>within noise</th><th>gone on recheck</th><th>accepted</th><th>judged</th></tr>${rows || '<tr><td colspan="9">no sample</td></tr>'}</table>
${lineChart('shadow-over-time', 'Shadow mismatch rate per route', '% of samples in each interval', series, maxT, r.phases, t0, r.faults)}
<h3>Example differences</h3>
<table id="shadow-examples"><tr><th>request</th><th>class</th><th>differing paths</th><th>blue</th><th>green</th></tr>${examples || '<tr><td colspan="5">none</td></tr>'}</table>
</section>`;
}

export function renderHtmlReport(r: RehearsalReport): string {
  const t0 = Date.parse(r.startedAt);
  const tl = r.timeline;
  const maxT = Math.max(1, Date.parse(r.finishedAt) - t0);
  const charts = [
    lineChart('weights', 'Read weight to green and write target', '% / 0=blue 100=green', [
      { name: 'read weight green %', color: '#2a9d8f', points: pts(tl, (s) => s.readWeightGreen), step: true },
      { name: 'write target (100 = green)', color: '#e76f51', points: pts(tl, (s) => (s.writeTarget === null ? null : s.writeTarget === 'green' ? 100 : 0)), step: true },
      { name: 'writes held (50 = yes)', color: '#8d99ae', points: pts(tl, (s) => (s.writesHeld ? 50 : 0)), step: true },
    ], maxT, r.phases, t0, r.faults),
    lineChart('rps', 'Requests per second by upstream', 'req/s', [
      { name: 'blue', color: '#457b9d', points: pts(tl, (s) => s.rps.blue) },
      { name: 'green', color: '#2a9d8f', points: pts(tl, (s) => s.rps.green) },
    ], maxT, r.phases, t0, r.faults),
    lineChart('errors', 'Errors per second', 'upstream 5xx+resets vs client-visible failures', [
      { name: 'blue errors', color: '#457b9d', points: pts(tl, (s) => s.errorsPerSec.blue) },
      { name: 'green errors', color: '#2a9d8f', points: pts(tl, (s) => s.errorsPerSec.green) },
      { name: 'client failures', color: '#d62828', points: pts(tl, (s) => s.clientFailuresPerSec) },
    ], maxT, r.phases, t0, r.faults),
    lineChart('latency', 'p99 latency by upstream', 'ms', [
      { name: 'blue p99', color: '#457b9d', points: pts(tl, (s) => s.p99Ms.blue) },
      { name: 'green p99', color: '#2a9d8f', points: pts(tl, (s) => s.p99Ms.green) },
    ], maxT, r.phases, t0, r.faults),
    lineChart('lag', 'Replication lag', 'ms', [{ name: 'lag', color: '#6a4c93', points: pts(tl, (s) => s.lagMs) }], maxT, r.phases, t0, r.faults),
  ].join('\n');

  const phaseRows = r.phases
    .map((p) => {
      const dur = p.start && p.end ? ((Date.parse(p.end) - Date.parse(p.start)) / 1000).toFixed(1) + ' s' : '';
      const left = p.start ? ((Date.parse(p.start) - t0) / maxT) * 100 : 0;
      const width = p.start && p.end ? Math.max(0.5, ((Date.parse(p.end) - Date.parse(p.start)) / maxT) * 100) : 0;
      return `<tr class="${p.outcome}"><td>${esc(p.name)}</td><td><span class="badge ${p.outcome}">${p.outcome}</span></td><td>${dur}</td>
<td class="gantt"><div style="margin-left:${left.toFixed(2)}%;width:${width.toFixed(2)}%"></div></td><td>${esc(p.summary)}</td></tr>`;
    })
    .join('');
  const valRows = r.validation.tables
    .map((t) => `<tr><td>${esc(t.source)}</td><td>${esc(t.target)}</td><td>${t.sourceRows}</td><td>${t.targetRows}</td><td>${t.missing}</td><td>${t.extra}</td><td>${t.different}</td><td>${t.deadLetter}</td></tr>`)
    .join('');
  const findings = (r.assess?.findings ?? [])
    .map((f) => `<tr><td>${esc(f.id)}</td><td>${esc(f.severity)}</td><td>${f.count ?? 'unknown'}</td><td>${esc(f.handling)}</td></tr>`)
    .join('');
  const verdict = r.verdict.ok
    ? `<p class="verdict ok">PASS — ${r.requests.failed} failed requests, ${r.ledger.missing} missing and ${r.ledger.mismatched} mismatched of ${r.ledger.acknowledged} acknowledged writes</p>`
    : `<p class="verdict failed">FAIL — ${r.verdict.reasons.map(esc).join('; ')}</p>`;

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>cutover-kit rehearsal report</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:24px auto;max-width:900px;color:#222;padding:0 12px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd} h3{font-size:14px;margin:12px 0 2px}
small{color:#777;font-weight:normal} table{border-collapse:collapse;width:100%} td,th{border-bottom:1px solid #eee;padding:4px 6px;text-align:left;vertical-align:top}
.verdict{font-size:16px;font-weight:600;padding:10px;border-radius:6px} .verdict.ok{background:#e7f6ec;color:#1b5e20} .verdict.failed{background:#fdecea;color:#b71c1c}
.badge{padding:1px 6px;border-radius:8px;font-size:12px} .badge.ok{background:#e7f6ec} .badge.failed{background:#fdecea} .badge.rolled-back{background:#fff4e5} .badge.not-run{background:#eee;color:#666}
.gantt{width:30%} .gantt div{height:10px;background:#457b9d;border-radius:3px}
.legend .key{margin-right:14px;font-size:12px} .legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
svg text{font-size:10px;fill:#555} pre{white-space:pre-wrap;word-break:break-all;margin:0;font-size:11px;max-width:300px} dl{display:grid;grid-template-columns:max-content auto;gap:2px 16px} dt{color:#666}
</style></head><body>
<h1>cutover-kit rehearsal: cainiao → duoduo</h1>
<p>${esc(r.startedAt)} · ${r.wallSeconds.toFixed(1)} s · peak RSS ${r.peakRssMiB.toFixed(0)} MiB · seed ${r.options.seed} · ${r.options.orders} orders · ${r.options.rate} req/s · fault: ${esc(r.options.fault ?? 'none')}</p>
${verdict}
<h2>Figures</h2>
<dl>
<dt>requests</dt><dd id="requests">${r.requests.total} total, ${r.requests.failed} failed (${r.requests.reads} reads, ${r.requests.writes} writes)</dd>
<dt>ledger</dt><dd id="ledger">${r.ledger.acknowledged} acknowledged writes, ${r.ledger.missing} missing, ${r.ledger.mismatched} mismatched (checked on ${r.ledger.checkedOn})</dd>
<dt>validation</dt><dd id="validation">${r.validation.equal === null ? 'not run' : r.validation.equal ? 'equal' : 'DIFFERENCES'}</dd>
<dt>write pause</dt><dd id="write-pause">p50 ${r.switch.writePauseMs.p50 ?? '–'} ms, p99 ${r.switch.writePauseMs.p99 ?? '–'} ms, max ${r.switch.writePauseMs.max ?? '–'} ms, ${r.switch.heldRequests} held requests</dd>
<dt>rollback</dt><dd>${r.rollback.ran ? `ran in ${r.rollback.seconds?.toFixed(2)} s, ${r.rollback.greenEraWrites ?? 0} green-era writes brought back` : 'not run'}</dd>
<dt>failure reasons</dt><dd id="failure-reasons">${Object.entries(r.requests.failuresByReason).map(([k, v]) => `${esc(k)}: ${v}`).join(', ') || 'none'}</dd>
${r.requests.attributedToFault ? `<dt>caused by the fault</dt><dd id="fault-failures">${r.requests.attributedToFault.failed} more failed request(s), not counted above: ${esc(r.requests.attributedToFault.rule)} (${Object.entries(r.requests.attributedToFault.byReason).map(([k, v]) => `${esc(k)}: ${v}`).join(', ') || 'none'})</dd>` : ''}
</dl>
${
  r.faults?.length
    ? `<h2>Faults injected</h2>
<table id="faults"><tr><th>fault</th><th>at</th><th>until</th><th>what</th></tr>${r.faults
        .map((f) => `<tr><td>${esc(f.name)}</td><td>${(f.at / 1000).toFixed(1)} s</td><td>${f.until === undefined ? '' : `${(f.until / 1000).toFixed(1)} s`}</td><td>${esc(f.detail)}</td></tr>`)
        .join('')}</table>`
    : ''
}
<h2>Phases</h2>
<table id="phases"><tr><th>phase</th><th>outcome</th><th>time</th><th>timeline</th><th>summary</th></tr>${phaseRows}</table>
<h2>Charts</h2>
${charts}
${shadowSection(r, maxT, t0)}
<h2>Validation per table</h2>
<table id="validation-tables"><tr><th>source</th><th>target</th><th>source rows</th><th>target rows</th><th>missing</th><th>extra</th><th>different</th><th>dead letter</th></tr>${valRows || '<tr><td colspan="8">not run</td></tr>'}</table>
<h2>Assessment findings (legacy data quality)</h2>
<table id="findings"><tr><th>finding</th><th>severity</th><th>count</th><th>handling</th></tr>${findings || '<tr><td colspan="4">not run</td></tr>'}</table>
</body></html>
`;
}
