import type { PartialBackup, SnapshotManifest } from '../platform/roles.ts';

/**
 * One line of `cutover backup list`. `complete`: it has a manifest (restorable). `in-progress`: no
 * manifest yet and its snapshot may still be running (same host and alive, or another host that
 * cannot be checked from here). `partial`: no manifest and its snapshot is gone (killed) or
 * unknown — never restorable; the next snapshot removes those whose snapshot is provably gone.
 */
export interface BackupListEntry {
  readonly id: string;
  readonly state: 'complete' | 'in-progress' | 'partial';
  /** complete: when the snapshot was taken; otherwise when its run started (null: no marker). */
  readonly time: string | null;
  /** Tables and rows in the manifest; null without one. */
  readonly tables: number | null;
  readonly rows: number | null;
  /** Compressed bytes of the table files; null without a manifest. */
  readonly bytes: number | null;
  /** The snapshot's consistent position (LSN, binlog position, RDS snapshot); null without a manifest. */
  readonly position: string | null;
  /** Without a manifest: objects written so far, who was writing them, what its run made on the source. */
  readonly objects?: number;
  readonly owner?: PartialBackup['owner'];
  readonly created?: readonly string[];
}

/** The store's backups, complete and not, oldest first (those with no time last). */
export function backupListing(manifests: readonly SnapshotManifest[], partials: readonly PartialBackup[]): BackupListEntry[] {
  const complete: BackupListEntry[] = manifests.map((m) => ({
    id: m.id,
    state: 'complete',
    time: m.createdAt,
    tables: m.tables.length,
    rows: m.tables.reduce((n, t) => n + t.rows, 0),
    bytes: m.tables.reduce((n, t) => n + t.bytes, 0),
    position: m.position,
  }));
  const unfinished: BackupListEntry[] = partials.map((p) => ({
    id: p.id,
    state: p.owner && !p.ownerGone ? 'in-progress' : 'partial',
    time: p.owner?.startedAt ?? null,
    tables: null,
    rows: null,
    bytes: null,
    position: null,
    objects: p.objects,
    owner: p.owner,
    created: p.created,
  }));
  return [...complete, ...unfinished].sort((a, b) => (a.time === b.time ? a.id.localeCompare(b.id) : a.time === null ? 1 : b.time === null ? -1 : a.time.localeCompare(b.time)));
}

/** The listing as an aligned table, one backup a line, with what an unfinished one means. */
export function formatBackupListing(entries: readonly BackupListEntry[], location: string | null): string {
  const where = location ? ` in ${location}` : '';
  if (!entries.length) return `no backups${where}`;
  const rows = [['id', 'state', 'time', 'tables', 'rows', 'note']];
  for (const e of entries) {
    rows.push([e.id, e.state, e.time ?? '?', e.tables === null ? '-' : String(e.tables), e.rows === null ? '-' : String(e.rows), note(e)]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd());
  const complete = entries.filter((e) => e.state === 'complete').length;
  return [...lines, `${entries.length} backup(s)${where}: ${complete} complete (restorable), ${entries.length - complete} without a manifest`].join('\n');
}

function note(e: BackupListEntry): string {
  if (e.state === 'complete') return `at ${e.position}`;
  const owner = e.owner ? `pid ${e.owner.pid} on ${e.owner.host}` : 'no owner marker';
  const made = e.created?.length ? `; made ${e.created.join(' and ')} on the source` : '';
  if (e.state === 'in-progress') return `${e.objects} object(s) so far, snapshot ${owner} still running or not checkable from here${made}`;
  return e.owner
    ? `${e.objects} object(s), snapshot ${owner} is gone: not restorable, the next snapshot removes it${made}`
    : `${e.objects} object(s), ${owner}: not restorable, delete it by hand${made}`;
}
