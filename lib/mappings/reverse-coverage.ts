import type { MappedTable } from './types.ts';

/** A forward target table declared as never written on green after the switch (config `replication.reverseExempt`). */
export interface ReverseExemption {
  /** The green table, `schema.table` (a forward mapping target). */
  readonly table: string;
  readonly reason: string;
}

export interface ReverseCoverageGap {
  /** The green table (forward target), `schema.table`. */
  readonly table: string;
  /** The blue table the forward mapping fills it from, `schema.table`. */
  readonly blueTable: string;
  /** `not-selected`: the reverse mapping does not select it; `wrong-table`: it writes it back elsewhere than `blueTable`. */
  readonly kind: 'not-selected' | 'wrong-table';
  readonly message: string;
}

export interface ReverseCoverage {
  /** True when every forward target table is brought back to its blue table or exempted. */
  readonly ok: boolean;
  /** Forward target tables whose green-side changes a rollback would lose. */
  readonly uncovered: readonly ReverseCoverageGap[];
  /** Uncovered tables the config declares as not written after the switch, with the reason given. */
  readonly exempted: readonly ReverseExemption[];
  /** Covered tables whose reverse mapping does not carry some green columns back (their updates on green are lost). */
  readonly columnGaps: readonly { readonly table: string; readonly columns: readonly string[]; readonly message: string }[];
  /** Exemptions that name no forward target table, or a table the reverse mapping covers anyway. */
  readonly unusedExemptions: readonly { readonly table: string; readonly message: string }[];
}

const name = (x: { schema: string; table: string }) => `${x.schema}.${x.table}`;

/**
 * What a rollback after the write switch would lose: every table the forward mapping fills on
 * green must be selected by the reverse mapping and written back to the same blue table, unless
 * the config exempts it. Pure.
 *
 * @param forward the forward mapping resolved against blue's catalog (its targets are green tables);
 *   pass only the targets that exist on green when some do not (that is its own finding)
 * @param reverse the reverse mapping resolved against green's catalog (its targets are blue tables)
 * @param exempt `replication.reverseExempt` of the environment
 */
export function reverseCoverage(
  forward: readonly MappedTable[],
  reverse: readonly MappedTable[],
  exempt: readonly ReverseExemption[] = [],
): ReverseCoverage {
  const bySource = new Map(reverse.map((t) => [name(t.source), t]));
  const exemptBy = new Map(exempt.map((e) => [e.table, e]));
  const uncovered: ReverseCoverageGap[] = [];
  const exempted: ReverseExemption[] = [];
  const columnGaps: { table: string; columns: string[]; message: string }[] = [];
  const unusedExemptions: { table: string; message: string }[] = [];

  for (const f of forward) {
    const green = name(f.target);
    const blue = name(f.source);
    const back = bySource.get(green);
    let gap: ReverseCoverageGap | undefined;
    if (!back) {
      gap = {
        table: green,
        blueTable: blue,
        kind: 'not-selected',
        message: `${green} (filled from ${blue}) is not selected by the reverse mapping: rows written on green after the switch are lost on rollback`,
      };
    } else if (name(back.target) !== blue) {
      gap = {
        table: green,
        blueTable: blue,
        kind: 'wrong-table',
        message: `the reverse mapping writes ${green} back to ${name(back.target)}, but the forward mapping fills it from ${blue}: ${blue} would miss green's changes on rollback`,
      };
    }
    const exemption = exemptBy.get(green);
    if (gap) {
      if (exemption) exempted.push(exemption);
      else uncovered.push(gap);
      continue;
    }
    if (exemption) unusedExemptions.push({ table: green, message: `replication.reverseExempt names ${green}, which the reverse mapping brings back anyway` });
    const carried = new Set(back!.columns.flatMap((c) => (c.kind === 'copy' ? [c.source] : c.dependsOn)));
    const missing = f.columns.map((c) => c.target).filter((c) => !carried.has(c));
    if (missing.length) {
      columnGaps.push({
        table: green,
        columns: missing,
        message: `the reverse mapping does not carry ${green} column(s) ${missing.join(', ')} back to ${blue}: their changes on green are lost on rollback`,
      });
    }
  }
  const targets = new Set(forward.map((f) => name(f.target)));
  for (const e of exempt) {
    if (!targets.has(e.table)) unusedExemptions.push({ table: e.table, message: `replication.reverseExempt names ${e.table}, which is not a table the forward mapping fills on green` });
  }
  return { ok: uncovered.length === 0, uncovered, exempted, columnGaps, unusedExemptions };
}
