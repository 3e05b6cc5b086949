import os from 'node:os';
import type { Output } from '../output/output.ts';
import { processStartMark, recordedProcessAlive } from '../platform/process-liveness.ts';
import type { PartialBackup } from '../platform/roles.ts';
import { TOOL_VERSION } from '../tool-version.ts';
import type { BackupStore } from './backup-store.ts';

/**
 * A snapshot writes `<id>/in-progress.json` before anything else and deletes it after its
 * manifest: a folder without a manifest is then a partial backup whose owner is named. A snapshot
 * that fails or is stopped removes its own folder; one killed (SIGKILL, a second Ctrl-C, a lost
 * machine) cannot, and the next snapshot removes the folder only when its owner is provably gone
 * (same host, that process no longer running) — never while another run may still be writing it.
 */
export const IN_PROGRESS_FILE = 'in-progress.json';

/** What `<id>/in-progress.json` holds. */
export interface InProgressMarker {
  readonly id: string;
  readonly pid: number;
  readonly host: string;
  /** The process's start as the kernel counts it, so a reused pid is not taken for the owner. */
  readonly processStart: string | null;
  readonly startedAt: string;
  readonly toolVersion: string;
  /** What the run made on the source for replication to continue from (noted once made). */
  readonly created?: { readonly slot?: string; readonly publication?: string };
}

/** Only folders named like a snapshot's id are looked at: anything else in the store is not ours. */
const SNAPSHOT_FOLDER = /^snap-[^/]+$/;

export async function markInProgress(store: BackupStore, id: string): Promise<InProgressMarker> {
  const marker: InProgressMarker = { id, pid: process.pid, host: os.hostname(), processStart: processStartMark(process.pid), startedAt: new Date().toISOString(), toolVersion: TOOL_VERSION };
  await store.put(`${id}/${IN_PROGRESS_FILE}`, JSON.stringify(marker, null, 2) + '\n');
  return marker;
}

/**
 * Adds to the marker what the run made on the source (its replication slot, its publication), so
 * that if it is killed the sweep can name them. They are named, never dropped by the sweep: by
 * then a replication may have started from that slot.
 */
export async function noteCreated(store: BackupStore, marker: InProgressMarker, created: NonNullable<InProgressMarker['created']>): Promise<void> {
  if (!created.slot && !created.publication) return;
  await store.put(`${marker.id}/${IN_PROGRESS_FILE}`, JSON.stringify({ ...marker, created }, null, 2) + '\n');
}

export async function clearInProgress(store: BackupStore, id: string): Promise<void> {
  await store.delete(`${id}/${IN_PROGRESS_FILE}`);
}

/** Snapshot folders of the store with no manifest, each with its owner when it wrote a marker. */
export async function findPartialBackups(store: BackupStore): Promise<PartialBackup[]> {
  const folders = new Map<string, Set<string>>();
  for (const key of await store.list()) {
    const slash = key.indexOf('/');
    if (slash < 0 || !SNAPSHOT_FOLDER.test(key.slice(0, slash))) continue;
    const folder = key.slice(0, slash);
    if (!folders.has(folder)) folders.set(folder, new Set());
    folders.get(folder)!.add(key.slice(slash + 1));
  }
  const partials: PartialBackup[] = [];
  for (const [id, files] of folders) {
    if (files.has('manifest.json')) continue; // complete: a marker left after it (a kill between the two) means nothing
    const marker = files.has(IN_PROGRESS_FILE) ? await readMarker(store, id) : null;
    partials.push({
      id,
      objects: files.size,
      owner: marker ? { pid: marker.pid, host: marker.host, startedAt: marker.startedAt } : null,
      created: [...(marker?.created?.slot ? [`replication slot ${marker.created.slot}`] : []), ...(marker?.created?.publication ? [`publication ${marker.created.publication}`] : [])],
      ownerGone: marker ? ownerGone(marker) : false,
    });
  }
  return partials.sort((a, b) => a.id.localeCompare(b.id));
}

/**
 * Before a new snapshot: removes each partial backup whose owner is provably gone and says so;
 * names the others (owner may be running, on another host, or unknown) and leaves them alone.
 * A failure to remove one is a warning: it never stops the new snapshot.
 */
export async function sweepPartialBackups(store: BackupStore, out: Output, topic = 'snapshot'): Promise<void> {
  for (const p of await findPartialBackups(store)) {
    if (p.ownerGone) {
      try {
        await store.remove(p.id);
        out.info(topic, `removed partial backup ${p.id} (no manifest): its snapshot (${describeOwner(p)}) is no longer running`);
        if (p.created.length) {
          out.warn(topic, `the killed snapshot ${p.id} had created ${p.created.join(' and ')} on the source, which stay (a replication may use them): if none does, drop them (${dropHint(p)})`);
        }
      } catch (err) {
        out.warn(topic, `partial backup ${p.id} (no manifest) could not be removed from ${store.location}: ${(err as Error).message}; delete ${p.id}/ by hand`);
      }
    } else {
      out.warn(topic, `${describePartial(p, store.location)}: left alone`);
    }
  }
}

/** One line for a partial backup that is not removed: why it is not usable, and why it stays. */
export function describePartial(p: PartialBackup, location: string): string {
  if (!p.owner) return `partial backup ${p.id} in ${location} has no manifest and no owner marker (an older kit's, or not the kit's): not usable; delete ${p.id}/ by hand`;
  const where = p.owner.host === os.hostname() ? 'still running' : `on another host (${p.owner.host}): it cannot be checked from here`;
  return `partial backup ${p.id} in ${location} has no manifest: not usable; its snapshot (${describeOwner(p)}) is ${where} — once it is not, the next snapshot removes it`;
}

function dropHint(p: PartialBackup): string {
  return p.created
    .map((c) => (c.startsWith('replication slot ') ? `select pg_drop_replication_slot('${c.slice('replication slot '.length)}')` : `drop publication "${c.slice('publication '.length)}"`))
    .join('; ');
}

function describeOwner(p: PartialBackup): string {
  return p.owner ? `pid ${p.owner.pid} on ${p.owner.host}, started ${p.owner.startedAt}` : 'owner unknown';
}

function ownerGone(m: InProgressMarker): boolean {
  if (m.host !== os.hostname()) return false; // another host's process cannot be proven dead from here
  if (m.pid === process.pid && m.processStart === processStartMark(process.pid)) return false; // ours
  return !recordedProcessAlive({ pid: m.pid, start: m.processStart });
}

async function readMarker(store: BackupStore, id: string): Promise<InProgressMarker | null> {
  try {
    const parts: Buffer[] = [];
    for await (const chunk of await store.get(`${id}/${IN_PROGRESS_FILE}`)) parts.push(Buffer.from(chunk as Buffer));
    const m = JSON.parse(Buffer.concat(parts).toString('utf8')) as Partial<InProgressMarker>;
    if (typeof m.pid !== 'number' || typeof m.host !== 'string') return null;
    return { id, pid: m.pid, host: m.host, processStart: m.processStart ?? null, startedAt: String(m.startedAt ?? '?'), toolVersion: String(m.toolVersion ?? '?'), created: m.created };
  } catch {
    return null; // unreadable: treated as unknown, never as provably gone
  }
}
