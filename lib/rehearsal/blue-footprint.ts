import type { PacingFigures } from '../platform/roles.ts';
import type { PhaseRecord, TimelineSample } from './report.ts';

/** The phases that read blue while it serves customers, and where each one's pacing figures are. */
const READING_PHASES: readonly { readonly phase: string; readonly reads: string }[] = [
  { phase: 'snapshot', reads: 'snapshot' },
  { phase: 'replicate', reads: 'full load' },
  { phase: 'validate', reads: 'validation' },
];

/** contract: the rehearsal report's `footprint[]`: what one reading phase cost blue. */
export interface PhaseFootprint {
  readonly phase: string;
  readonly reads: string;
  readonly seconds: number | null;
  /** Blue's requests per second, the mean of the timeline's seconds in the phase. */
  readonly blueRps: number | null;
  /** Median and highest per-second blue p99 in the phase (bucket bounds, ms). */
  readonly blueP99Ms: { readonly median: number | null; readonly max: number | null };
  /** Failures the router answered clients (its `clientFailures`), summed over the phase; the load generator's own (client-overload, timeouts) are in `requests`. */
  readonly routerFailures: number;
  /** The throttler's figures for the phase; null when it was not paced (or not reached). */
  readonly pacing: PacingFigures | null;
}

/**
 * Blue's side of each reading phase, from the report's timeline (samples every second, `t` ms
 * after `startedAtMs`) and the phase records (pacing figures from the phases' journal figures).
 */
export function blueFootprint(phases: readonly PhaseRecord[], timeline: readonly TimelineSample[], startedAtMs: number): PhaseFootprint[] {
  const out: PhaseFootprint[] = [];
  for (const { phase, reads } of READING_PHASES) {
    const p = phases.find((x) => x.name === phase);
    if (!p?.start || !p.end) continue;
    const from = Date.parse(p.start) - startedAtMs;
    const to = Date.parse(p.end) - startedAtMs;
    const inPhase = timeline.filter((s) => s.t >= from && s.t < to);
    const p99s = inPhase.map((s) => s.p99Ms.blue).filter((v): v is number => v !== null).sort((a, b) => a - b);
    out.push({
      phase,
      reads,
      seconds: Math.round((to - from) / 100) / 10,
      blueRps: inPhase.length ? Math.round(inPhase.reduce((n, s) => n + s.rps.blue, 0) / inPhase.length) : null,
      blueP99Ms: { median: p99s.length ? p99s[Math.floor((p99s.length - 1) / 2)]! : null, max: p99s.length ? p99s[p99s.length - 1]! : null },
      routerFailures: Math.round(inPhase.reduce((n, s) => n + s.clientFailuresPerSec, 0)),
      pacing: (p.figures?.pacing as PacingFigures | undefined) ?? null,
    });
  }
  return out;
}

/** The summary's lines: one per reading phase. */
export function footprintLines(rows: readonly PhaseFootprint[]): string[] {
  if (!rows.length) return [];
  return [
    '  blue while the kit reads it',
    ...rows.map((r) => {
      const paced = r.pacing
        ? r.pacing.enabled
          ? `paced: ${(r.pacing.pausedMs / 1000).toFixed(1)} s paused in ${r.pacing.pauses} pause(s)${r.pacing.forcedResumes ? `, ${r.pacing.forcedResumes} ended by pacing.maxPauseMs` : ''}`
          : 'pacing off'
        : 'not paced';
      return `    ${r.reads.padEnd(10)} ${String(r.seconds ?? '-').padStart(6)} s  blue ${r.blueRps ?? '-'} req/s, p99 median ${r.blueP99Ms.median ?? '-'} ms, max ${r.blueP99Ms.max ?? '-'} ms, ${r.routerFailures} failed at the router; ${paced}`;
    }),
  ];
}
