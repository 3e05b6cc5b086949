import { blueFootprint, footprintLines } from './blue-footprint.ts';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfig, selectEnvironment, type ResolvedPostgresEnvironment } from '../config/load.ts';
import { asCutoverError } from '../errors.ts';
import { formatForecast } from '../estimate/forecast.ts';
import type { Output } from '../output/output.ts';
import { CleanupStack } from './cleanup-stack.ts';
import { lockRehearsalFolder } from './rehearsal-folder-lock.ts';
import { S3RVER_CREDENTIALS, startLoopbackS3, type LoopbackS3 } from './loopback-s3.ts';
import { checkFault, checkLegacy, checkOption, type RehearseOptions } from './rehearse-options.ts';
import { startRehearsalServers } from './rehearsal-servers.ts';
import { judge, type RehearsalReport } from './report.ts';
import { renderHtmlReport } from './report-html.ts';
import { buildRehearsalConfig } from './rehearsal-config.ts';
import { RehearsalRun } from './rehearsal-run.ts';
import { launchDemoProcess, startDemoSystems, type DemoProcess, type DemoSystems } from './demo-systems.ts';
import { starvationLine } from './starvation-meter.ts';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const PLAN = [
  'start two embedded PostgreSQL servers on 127.0.0.1 (cainiao = blue/legacy, duoduo = green/new), generated passwords',
  'seed cainiao with the dirty legacy demo data; create the clean duoduo schema',
  'start the blue app (cainiao), the green app (duoduo) and the weighted router; start the load generator through the router',
  'run the runbook through the engine: assess, snapshot, replicate, validate, shadow, shift, switch, bake, finalize',
  'stop the load; check every acknowledged write on the final system; write the report (JSON + HTML)',
];

/**
 * `cutover rehearse` / `npm start`: the whole runbook on embedded real PostgreSQL, real apps,
 * a real router and live load. Returns the exit code (0 pass, 1 the rehearsal found a problem,
 * 2 usage or connection error, 3 internal error).
 */
/** `--pacing auto` paces from this size: below it the reading phases take seconds and a pause would only lengthen them. */
const PACED_FROM_ORDERS = 100_000;

export async function rehearse(options: RehearseOptions, operatorOutput: Output): Promise<number> {
  // After Ctrl-C the servers are stopped under the running phases: their errors are noise, not news.
  let interrupted = false;
  const out = mutedAfter(operatorOutput, () => interrupted);
  const fault = checkFault(options.fault);
  const seed = checkOption('seed', options.seed);
  const orders = checkOption('orders', options.orders);
  const rate = checkOption('rate', options.rate);
  const legacy = checkLegacy(options.legacy, options.legacyUrl);
  // CUTOVER_REHEARSAL_DIR lets tests run rehearsals side by side without sharing a folder
  const dir = path.resolve(options.dir ?? process.env.CUTOVER_REHEARSAL_DIR ?? path.join(REPO_ROOT, '.cutover', 'rehearsal'));
  if (options.dryRun) {
    const plan = legacy === 'mariadb' ? [`start cainiao (blue/legacy) on ${options.legacyUrl ? 'the MySQL server of --legacy-url' : "this machine's MariaDB server (ROW binlog)"} and duoduo (green/new) on an embedded PostgreSQL, generated passwords`, ...PLAN.slice(1)] : PLAN;
    plan.forEach((p, i) => out.step('rehearse', `${i + 1}. ${p}`));
    out.step('rehearse', `working folder ${dir}; legacy ${legacy}; fault ${fault ?? 'none'}; ${orders} orders; ${rate} req/s`);
    return 0;
  }

  const startedAt = new Date();
  const cleanup = new CleanupStack();
  cleanup.trapSignals((signal) => {
    operatorOutput.warn('rehearse', `${signal === 'SIGINT' ? 'Ctrl-C' : signal}: stopping the apps, the router and both servers (a rehearsal does not resume: run it again)`);
    interrupted = true;
  });
  let peakRss = process.memoryUsage().rss;
  const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 500);
  rssTimer.unref();
  let keepServers = false;
  try {
    mkdirSync(dir, { recursive: true });
    const unlockFolder = lockRehearsalFolder(dir);
    cleanup.push('rehearsal folder lock', async () => unlockFolder());
    rmSync(path.join(dir, 'state'), { recursive: true, force: true });

    // the demo business's process boots while the servers start; it is started once they are up
    let demoProcess: Promise<DemoProcess> | undefined;
    if (!options.demoInProcess) {
      const launching = launchDemoProcess(dir);
      demoProcess = launching;
      cleanup.push('demo business process', async () => (await launching).stop());
    }
    out.info('rehearse', legacy === 'mariadb' ? 'starting the servers (cainiao = blue on MariaDB, duoduo = green on embedded PostgreSQL)' : 'starting two embedded PostgreSQL servers (cainiao = blue, duoduo = green)');
    const { blue: cainiao, green: duoduo } = await startRehearsalServers({ legacy, legacyUrl: options.legacyUrl, template: options.serverTemplate, dir, cleanup, out });
    out.ok('rehearse', `cainiao on 127.0.0.1:${cainiao.port}, duoduo on 127.0.0.1:${duoduo.port}`);

    let s3: LoopbackS3 | undefined;
    if (options.backupStore === 's3') {
      // in this process's environment, inherited by the replication worker: the SDK chain finds it
      process.env.AWS_ACCESS_KEY_ID = S3RVER_CREDENTIALS.accessKeyId;
      process.env.AWS_SECRET_ACCESS_KEY = S3RVER_CREDENTIALS.secretAccessKey;
      s3 = await startLoopbackS3(path.join(dir, 's3'), 'cutover-rehearsal');
      cleanup.push('S3-compatible server', () => s3!.stop());
      out.ok('rehearse', `backups go to s3://${s3.bucket}/rehearsal at ${s3.endpoint} (S3-compatible server on loopback)`);
    }

    const demo: DemoSystems = await startDemoSystems({ cainiaoUrl: cainiao.url, cainiaoAppUrl: cainiao.appUrl, duoduoUrl: duoduo.url, seed, orders, rate, out, greenProcess: fault === 'green-dies-after-switch', dir, inProcess: options.demoInProcess }, demoProcess);
    cleanup.push('demo apps and router', () => demo.stop());
    if (!options.demoInProcess) out.info('rehearse', `the demo business (apps, router, load generator) runs in process ${demo.pid}, apart from the kit's`);

    const raw = buildRehearsalConfig({
      repoRoot: REPO_ROOT,
      dir,
      cainiaoUrl: cainiao.url,
      duoduoUrl: duoduo.url,
      legacy: cainiao.engine,
      routerAdminUrl: demo.router.adminUrl,
      greenAppUrl: demo.green.url,
      blueAppUrl: demo.blue.url,
      shiftBakeSeconds: options.shiftBakeSeconds ?? 4,
      bakeSeconds: options.bakeSeconds ?? 6,
      shiftSteps: options.shiftSteps,
      s3: s3 && { endpoint: s3.endpoint, bucket: s3.bucket },
      minRequests: options.minRequests,
      maxP99RatioToBlue: options.maxP99RatioToBlue,
      shadowSeconds: options.shadowSeconds,
      shadowPercent: options.shadowPercent,
      smoke: demo.summary.smoke,
      pacing: { enabled: options.pacing === 'on' || (options.pacing !== 'off' && orders >= PACED_FROM_ORDERS), maxPauseMs: orders >= PACED_FROM_ORDERS ? 30_000 : 5_000 },
    });
    const configFile = path.join(dir, 'cutover.config.json');
    writeFileSync(configFile, JSON.stringify(raw, null, 2), { mode: 0o600 });
    const env = selectEnvironment(parseConfig(raw, configFile), 'rehearsal') as ResolvedPostgresEnvironment;

    const run = new RehearsalRun({ env, demo, out, fault, rate, seed, orders, t0: startedAt.getTime(), servers: { blue: cainiao, green: duoduo }, configFile });
    cleanup.push('runbook platform', () => run.close());
    const result = await run.execute();

    const finishedAt = new Date();
    const partial: Omit<RehearsalReport, 'verdict'> = {
      version: 1,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      wallSeconds: (finishedAt.getTime() - startedAt.getTime()) / 1000,
      peakRssMiB: peakRss / 1024 / 1024,
      options: { seed, orders, rate, fault, ...(legacy !== 'postgres' ? { legacy } : {}) },
      ...result,
      footprint: blueFootprint(result.phases, result.timeline, startedAt.getTime()),
    };
    const report: RehearsalReport = { ...partial, verdict: judge(partial, fault === 'rollback-after-switch' || fault === 'green-errors' || fault === 'green-dies-after-switch', fault) };
    const htmlFile = path.join(dir, 'report.html');
    writeFileSync(htmlFile, renderHtmlReport(report));
    if (options.reportJson) {
      mkdirSync(path.dirname(path.resolve(options.reportJson)), { recursive: true });
      writeFileSync(path.resolve(options.reportJson), JSON.stringify(report, null, 2));
    }
    printSummary(out, report, htmlFile, options.reportJson);

    if (options.keep) {
      keepServers = true;
      out.info('rehearse', '--keep: servers left running. Connect with:');
      out.info('rehearse', `  cainiao: ${cainiao.connectHint}  (password in ${configFile})`);
      out.info('rehearse', `  duoduo:  psql "postgres://postgres@127.0.0.1:${duoduo.port}/duoduo"`);
      out.info('rehearse', `  runbook: npx cutover status --config ${configFile} --env rehearsal`);
      out.info('rehearse', '  stop them with Ctrl-C');
      await new Promise<void>(() => {}); // until Ctrl-C: the signal trap runs the cleanup
    }
    return report.verdict.ok ? 0 : 1;
  } catch (err) {
    const e = asCutoverError(err);
    out.error('rehearse', e.describe());
    return e.exitCode;
  } finally {
    clearInterval(rssTimer);
    if (!keepServers) {
      await cleanup.run((name, err) => out.warn('rehearse', `cleanup of ${name} failed: ${String(err)}`));
    }
  }
}

function printSummary(out: Output, r: RehearsalReport, htmlFile: string, jsonFile?: string): void {
  const lines = [
    '',
    `rehearsal ${r.verdict.ok ? 'PASSED' : r.verdict.expectedOutcome?.met ? 'STOPPED AT THE SHADOW GATE, as expected for this fault' : 'FAILED'} in ${r.wallSeconds.toFixed(1)} s (peak RSS ${r.peakRssMiB.toFixed(0)} MiB${r.demoPeakRssMiB !== undefined ? `, the demo business's process ${r.demoPeakRssMiB.toFixed(0)} MiB` : ''})`,
    `  requests   ${r.requests.total} total, ${r.requests.failed} failed`,
    ...(r.demoStarvation ? [`  demo CPU   the apps, router and load generator's process ${starvationLine(r.demoStarvation)}`] : []),
    `  ledger     ${r.ledger.acknowledged} acknowledged writes: ${r.ledger.missing} missing, ${r.ledger.mismatched} mismatched (on ${r.ledger.checkedOn})`,
    `  validation ${r.validation.equal === null ? 'not run' : r.validation.equal ? 'equal' : 'DIFFERENCES'}`,
    ...shadowLines(r),
    ...footprintLines(r.footprint ?? []),
    `  write hold p50 ${ms(r.switch.writePauseMs.p50)} ms, p99 ${ms(r.switch.writePauseMs.p99)} ms`,
    '  phases',
    ...r.phases.map((p) => `    ${p.name.padEnd(10)} ${p.outcome.padEnd(12)} ${p.summary}`),
    ...r.verdict.reasons.map((x) => `  ! ${x}`),
    ...(r.estimate ? ['  figures    ' + r.estimate.figuresFile + ' (`npx cutover estimate --env NAME` forecasts another environment from them)', ...formatForecast(r.estimate.forecast).map((l) => `  ${l}`)] : []),
    `  report     ${htmlFile}${jsonFile ? ` and ${path.resolve(jsonFile)}` : ''}`,
  ];
  out.result(r, lines.join('\n'));
}


/** The shadow phase in the summary: one line per route. */
function shadowLines(r: RehearsalReport): string[] {
  const s = r.shadow;
  if (!s) return ['  shadow     not compared'];
  return [
    `  shadow     ${s.compared} reads compared in ${Math.round(s.seconds)} s (${s.settings.percent} % mirrored), gate ${s.gate.ok ? 'green' : 'RED'}`,
    ...s.routes.map(
      (x) =>
        `    ${x.route.padEnd(22)} ${String(x.samples).padStart(5)} samples, ${x.mismatches} mismatched${x.mismatchPercent === null ? '' : ` (${x.mismatchPercent} %)`}, ${x.failed} failed by green, noise ${x.noisePercent ?? '-'} %, ${x.transient} gone on recheck, ${x.accepted} accepted${x.judged ? '' : ' (not judged: few samples)'}`,
    ),
  ];
}

/** `out`, dropping every line once `muted()` is true. */
function mutedAfter(out: Output, muted: () => boolean): Output {
  return new Proxy(out, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => (muted() ? undefined : (value as (...a: unknown[]) => unknown).apply(target, args));
    },
  });
}

/** Milliseconds for a summary line: whole, or a dash when not measured. */
function ms(value: number | null | undefined): string {
  return value === null || value === undefined ? '–' : String(Math.round(value));
}
