import type { StatusReport } from '../engine/status.ts';
import { describeSlot } from '../platform/kit-slots.ts';

/**
 * The human form of `cutover status`: one `label  value` line per field, labels padded to 12.
 * The grammar is documented in runbooks/understanding-output.md; change both together.
 */
export function formatStatus(r: StatusReport): string {
  const rows: [string, string][] = [];
  rows.push(['env', `${r.env} (${r.platform}${r.protected ? ', protected' : ''})`]);
  rows.push(['phase', r.phase.current ? `${r.phase.current}: ${r.phase.state}${r.phase.at ? ` at ${r.phase.at}` : ''}` : 'not started']);
  rows.push(['phases', r.phases.map((p) => `${p.name}=${p.state}`).join(' ')]);
  rows.push(['traffic', r.traffic ? `reads ${r.traffic.readWeightGreen}% green, writes -> ${r.traffic.writeTarget}${r.traffic.writesHeld ? ' (HELD)' : ''}` : `unknown (${r.unavailable.traffic ?? r.unavailable.platform ?? 'not read'})`]);
  rows.push(['replication', repl('forward', r.replication.forward, r.unavailable['replication.forward'] ?? r.unavailable.platform)]);
  if (r.replication.reverse && r.replication.reverse.phase !== 'not-started') rows.push(['reverse', repl('reverse', r.replication.reverse, undefined)]);
  if (r.slots?.length) rows.push(['slots', r.slots.map((s) => `${s.warn ? 'WARNING ' : ''}${describeSlot(s)}`).join('; ')]);
  const pv = r.partialValidation;
  const partial = pv ? `; later partial check (does not open the gate): ${pv.equal ? 'equal' : 'DIFFERENCES'} ${age(pv.ageSeconds)} ago${pv.summary ? `: ${pv.summary}` : ''}` : '';
  rows.push([
    'validation',
    (r.validation
      ? `${r.validation.equal ? 'equal' : 'DIFFERENCES'} ${age(r.validation.ageSeconds)} ago${r.validation.fresh ? '' : ' (stale)'}${r.validation.summary ? `: ${r.validation.summary}` : ''}`
      : 'never run (every mapped table)') + partial,
  ]);
  rows.push(['lock', r.lock ? `${r.lock.operator}@${r.lock.host} pid ${r.lock.pid} "${r.lock.command}" since ${r.lock.since}${r.lock.alive === false ? ' (holder not running)' : ''}` : 'free']);
  rows.push(['next', r.next.command ? `${r.next.command}  (${r.next.why})` : r.next.why]);
  rows.push(['journal', `${r.journal.records} record(s) at ${r.journal.location}`]);
  return rows.map(([k, v]) => `${k.padEnd(12)}${v}`).join('\n');
}

function repl(name: string, s: StatusReport['replication']['forward'], why: string | undefined): string {
  if (!s) return `unknown (${why ?? 'not read'})`;
  const lag = s.lagMs === null ? 'lag unknown' : `lag ${s.lagMs} ms${s.lagBytes !== null ? ` / ${s.lagBytes} bytes` : ''}`;
  return `${s.phase}, ${lag}, ${Math.round(s.appliedRowsPerSec)} rows/s${s.deadLetters ? `, ${s.deadLetters} dead letter(s)` : ''}${s.unreplicatedColumns?.length ? `, NOT REPLICATED: new source column(s) ${s.unreplicatedColumns.join(', ')}` : ''}`;
}

function age(seconds: number): string {
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  return `${Math.round(seconds / 3600)}h`;
}
