import type pg from 'pg';
import type { Finding } from '../platform/roles.ts';

/** PostgreSQL majors the kit supports and tests (test/replication/version-matrix.test.ts). */
export const OLDEST_MAJOR = 12;
export const NEWEST_MAJOR = 18;

/**
 * Logical replication prerequisites of one side: the forward replication decodes the source,
 * the reverse replication (rollback after the write switch) decodes the target.
 */
export async function replicationSettings(
  client: pg.ClientBase,
  side: 'source' | 'target',
): Promise<{ settings: Record<string, string>; findings: Finding[] }> {
  const res = await client.query<{ name: string; setting: string }>(
    `SELECT name, setting FROM pg_settings WHERE name IN ('wal_level', 'max_replication_slots', 'max_wal_senders', 'server_version', 'server_version_num')`,
  );
  const raw = Object.fromEntries(res.rows.map((r) => [r.name, r.setting]));
  const used = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM pg_replication_slots`);
  const slots = Number(raw.max_replication_slots ?? 0);
  const freeSlots = slots - Number(used.rows[0]!.n);
  const settings: Record<string, string> = {
    [`${side}.wal_level`]: raw.wal_level ?? 'unknown',
    [`${side}.max_replication_slots`]: String(slots),
    [`${side}.free_replication_slots`]: String(freeSlots),
    [`${side}.max_wal_senders`]: raw.max_wal_senders ?? 'unknown',
    [`${side}.server_version`]: raw.server_version ?? 'unknown',
  };
  const findings: Finding[] = [];
  const major = Math.floor(Number(raw.server_version_num ?? 0) / 10000);
  if (major < OLDEST_MAJOR) {
    // both sides: the source is decoded and written back to after the switch, the target the reverse
    findings.push({
      id: `${side}-version`,
      severity: 'blocker',
      count: 1,
      sampleKeys: [],
      message: `${side} runs PostgreSQL ${raw.server_version ?? 'unknown'}; the kit supports PostgreSQL ${OLDEST_MAJOR} to ${NEWEST_MAJOR}`,
      handling: `upgrade the ${side} to PostgreSQL ${OLDEST_MAJOR} or later (pg_upgrade, or on Amazon RDS/Aurora a major version upgrade) before the cutover`,
    });
  } else if (major > NEWEST_MAJOR) {
    findings.push({
      id: `${side}-version`,
      severity: 'warning',
      count: 1,
      sampleKeys: [],
      message: `${side} runs PostgreSQL ${raw.server_version}; the kit is tested on ${OLDEST_MAJOR} to ${NEWEST_MAJOR}`,
      handling: 'rehearse on a copy of this server first (npm test runs the version matrix)',
    });
  }
  const purpose = side === 'source' ? 'forward replication (full load + CDC)' : 'reverse replication (rollback after the write switch)';
  // the forward path cannot start without it; the reverse path only matters after the switch
  const severity = side === 'source' ? 'blocker' : 'warning';
  if (raw.wal_level !== 'logical') {
    findings.push({
      id: `${side}-wal-level`,
      severity,
      count: 1,
      sampleKeys: [],
      message: `${side} wal_level is ${raw.wal_level ?? 'unknown'}; ${purpose} needs logical`,
      handling: `set wal_level = logical on the ${side} (ALTER SYSTEM SET wal_level = logical; on RDS the parameter group's rds.logical_replication = 1) and restart it`,
    });
  }
  if (freeSlots < 1) {
    findings.push({
      id: `${side}-replication-slots`,
      severity,
      count: 1,
      sampleKeys: [],
      message: `${side} has ${freeSlots} free replication slot(s) (max_replication_slots ${slots}); ${purpose} needs 1`,
      handling: `raise max_replication_slots on the ${side} or drop an unused slot (SELECT slot_name FROM pg_replication_slots)`,
    });
  }
  if (Number(raw.max_wal_senders ?? 0) < 2) {
    findings.push({
      id: `${side}-wal-senders`,
      severity,
      count: 1,
      sampleKeys: [],
      message: `${side} max_wal_senders is ${raw.max_wal_senders}; ${purpose} needs at least 2 (one stream plus a snapshot)`,
      handling: `raise max_wal_senders on the ${side} and restart it`,
    });
  }
  return { settings, findings };
}
