import { envCommandLine } from '../engine/command-line.ts';
import type { ResolvedEnvironment } from '../config/load.ts';
import type { ReplicationStatus } from '../platform/roles.ts';

/**
 * Why a step refuses while forward replication says source columns were added during replication
 * (`unreplicatedColumns`: the worker's mapping has no place for their values, so green never gets
 * them), or null. The write switch would make green — without those values — the system of
 * record: silent loss. The replicate gate (`replicate wait`) refuses too: waiting cannot bring
 * them, and a wait that passed would tell a script green has every acknowledged write. A column
 * the mapping removes on purpose is never said (noticeNewColumns of replication-worker.ts and
 * binlog-worker.ts). The read
 * shift does not refuse: blue keeps every value and reads go back to it in one command; nothing is
 * lost until writes move (and `cutover run` stops at the switch).
 * `step` names what refuses (`the write switch`), `rerun` the command to run again afterwards.
 */
export function unreplicatedColumnsRefusal(
  status: Pick<ReplicationStatus, 'unreplicatedColumns' | 'tables'>,
  env: Pick<ResolvedEnvironment, 'name' | 'configFile' | 'mappingFiles'>,
  step: string,
  rerun: string,
): string | null {
  const columns = status.unreplicatedColumns ?? [];
  if (!columns.length) return null;
  const targets = [...new Set(columns.map((c) => targetOf(status, c)))];
  const cli = (command: string) => `\`${envCommandLine(env, command)}\``;
  return (
    `source column(s) ${columns.join(', ')} added on the source during replication are NOT replicated (the mapping has no place for their values): ${step} would leave them behind. ` +
    `Fix: add each to its target table (${targets.join(', ')}) and to the forward mapping ${env.mappingFiles.forward} — or remove it there with a remove-column rule if it is not wanted — ` +
    `then ${cli('cutover replicate stop')}, ${cli('cutover replicate start')}, ${cli('cutover validate --repair')}, and ${cli(rerun)} again`
  );
}

/** The target table of a `schema.table.column` source column, from the status's table list (the source table when not listed). */
function targetOf(status: Pick<ReplicationStatus, 'tables'>, column: string): string {
  const table = column.slice(0, column.lastIndexOf('.'));
  return status.tables.find((t) => t.source === table)?.target ?? table;
}
