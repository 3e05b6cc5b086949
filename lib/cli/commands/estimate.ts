import path from 'node:path';
import { Option, type Command } from 'commander';
import { loadConfig, selectEnvironment } from '../../config/load.ts';
import { environmentSizes } from '../../estimate/environment-sizes.ts';
import { forecastFrom } from '../../estimate/calibrated-forecast.ts';
import { formatForecast, type EnvironmentSizes } from '../../estimate/forecast.ts';
import { readRehearsalFigures, REHEARSAL_FIGURES_FILE } from '../../estimate/rehearsal-figures.ts';
import { CutoverError } from '../../errors.ts';
import { createPlatform } from '../../platform/create-platform.ts';
import { wholeNumber } from '../global-options.ts';
import { withoutSession, type CliRuntime } from '../runtime.ts';

interface EstimateOptions {
  readonly figures?: string[];
  readonly writeRate?: number;
  readonly sampleSeconds: number;
}

/**
 * `cutover estimate`: the forecast of an environment's cutover night (full load, CDC catch-up,
 * validate, write hold — each a range, measured or extrapolated, with go / no-go) from the
 * figures a rehearsal recorded and the environment's table sizes and write rate. Read-only:
 * it changes nothing, so `--dry-run` is the same run. Exit 0 go, 1 no-go, 2 usage/config/connection.
 */
export function registerEstimate(program: Command, rt: CliRuntime): void {
  program
    .command('estimate')
    .description('forecast full load, CDC catch-up, validate and the write hold for --env from a rehearsal; exit 0 go, 1 no-go')
    .option(
      '--figures <file...>',
      `a rehearsal's ${REHEARSAL_FIGURES_FILE} (default: the last rehearsal's, .cutover/rehearsal/state/ beside the config); two or more rehearsals of different sizes calibrate a fixed cost plus a cost per row for each phase`,
    )
    .option('--write-rate <changes/s>', "row changes per second on the source (default: measured from the source's statistics; required on aws)", wholeNumber(0))
    .addOption(new Option('--sample-seconds <n>', "how long to watch the source's statistics for the write rate").argParser(wholeNumber(1, 600)).default(10))
    .action(
      withoutSession<EstimateOptions>(rt, async (out, o, globals) => {
        const config = await loadConfig({ file: globals.config, cwd: rt.io.cwd, env: rt.io.env });
        const env = selectEnvironment(config, globals.env);
        const figuresFiles = (o.figures?.length ? o.figures : [path.join(rt.io.env.CUTOVER_REHEARSAL_DIR ?? path.join(path.dirname(env.configFile), '.cutover', 'rehearsal'), 'state', REHEARSAL_FIGURES_FILE)]).map((f) =>
          path.resolve(rt.io.cwd, f),
        );
        const figures = figuresFiles.map(readRehearsalFigures);
        const figuresFile = figuresFiles.join(', ');
        let sizes: { tables: { name: string; rows: number; bytes: number }[]; writeChangesPerSec: number | null };
        if (env.platform === 'postgres') {
          if (o.writeRate === undefined) out.info('estimate', `watching ${env.name}'s source statistics for ${o.sampleSeconds} s to measure its write rate (or give --write-rate)`);
          sizes = await environmentSizes(env, { sampleSeconds: o.sampleSeconds, sampleWriteRate: o.writeRate === undefined });
        } else {
          if (o.writeRate === undefined) {
            throw new CutoverError('USAGE', `estimate on the ${env.platform} platform needs --write-rate`, {
              received: env.name,
              allowed: '--write-rate N (row changes per second on the source, e.g. from CloudWatch or pg_stat_user_tables)',
              fix: `npx cutover estimate --env ${env.name} --write-rate 500`,
            });
          }
          const platform = await createPlatform(env, out);
          try {
            sizes = { tables: (await platform.inspector.assess()).tables, writeChangesPerSec: null };
          } finally {
            await platform.close();
          }
        }
        const envSizes: EnvironmentSizes = {
          tables: sizes.tables,
          writeChangesPerSec: o.writeRate ?? sizes.writeChangesPerSec ?? 0,
          writeRateFrom: o.writeRate !== undefined ? '--write-rate' : 'source statistics',
          maxHoldMs: env.switch.maxHoldMs,
        };
        const fc = forecastFrom(figures, envSizes);
        out.result({ environment: env.name, figuresFile, ...fc }, [`estimate for ${env.name} (figures ${figuresFile})`, ...formatForecast(fc)].join('\n'));
        return fc.go ? 0 : 1;
      }),
    );
}
