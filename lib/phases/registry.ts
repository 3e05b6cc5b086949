import { CutoverError } from '../errors.ts';
import type { PhaseRegistry, RollbackRunner } from '../engine/engine.ts';
import type { Phase, PhaseName } from '../engine/phase.ts';
import { exported, importOptional } from '../platform/optional-module.ts';
import { assessPhase } from './assess-phase.ts';
import { replicatePhase } from './replicate-phase.ts';
import { snapshotPhase } from './snapshot-phase.ts';
import { validatePhase } from './validate-phase.ts';

/** Where the traffic phases live (lib/traffic/), by phase, with their export name. */
const TRAFFIC_PHASES: Record<'shadow' | 'shift' | 'switch' | 'bake' | 'finalize', { file: string; exportName: string; requires: PhaseName[] }> = {
  shadow: { file: '../traffic/shadow-phase.ts', exportName: 'shadowPhase', requires: ['replicate', 'validate'] },
  shift: { file: '../traffic/shift-phase.ts', exportName: 'shiftPhase', requires: ['replicate', 'validate', 'shadow'] },
  switch: { file: '../traffic/switch-phase.ts', exportName: 'switchPhase', requires: ['shift'] },
  bake: { file: '../traffic/bake-phase.ts', exportName: 'bakePhase', requires: ['switch'] },
  finalize: { file: '../traffic/finalize-phase.ts', exportName: 'finalizePhase', requires: ['bake'] },
};

/** Every phase by name. Traffic phases are loaded lazily; a missing one is a stand-in that refuses with NOT_SUPPORTED. */
export async function loadPhaseRegistry(): Promise<PhaseRegistry> {
  const traffic = await Promise.all(
    (Object.keys(TRAFFIC_PHASES) as (keyof typeof TRAFFIC_PHASES)[]).map(async (name) => {
      const spec = TRAFFIC_PHASES[name];
      try {
        const url = new URL(spec.file, import.meta.url);
        const mod = await importOptional(url, `the ${name} phase`);
        return [name, exported<Phase>(mod, spec.exportName, url)] as const;
      } catch (err) {
        return [name, unavailablePhase(name, spec.requires, err as CutoverError)] as const;
      }
    }),
  );
  return {
    assess: assessPhase,
    snapshot: snapshotPhase,
    replicate: replicatePhase,
    validate: validatePhase,
    ...Object.fromEntries(traffic),
  } as PhaseRegistry;
}

/** `runRollback` / `planRollback` of lib/traffic/rollback.ts. */
export async function loadRollbackRunner(): Promise<RollbackRunner> {
  const file = new URL('../traffic/rollback.ts', import.meta.url);
  const mod = await importOptional(file, 'rollback');
  const run = exported<RollbackRunner['run']>(mod, 'runRollback', file);
  const plan = exported<RollbackRunner['plan']>(mod, 'planRollback', file);
  return { run, plan };
}

function unavailablePhase(name: PhaseName, requires: PhaseName[], why: CutoverError): Phase {
  const refuse = async (): Promise<never> => {
    throw why;
  };
  return { name, requires, command: `cutover ${name}`, mutates: true, plan: refuse, apply: refuse, verify: refuse, rollback: refuse };
}
