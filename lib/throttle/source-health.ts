import pg from 'pg';
import { quantileFromCounts, windowCounts } from '../platform/histogram.ts';
import type { RouterMetrics, SourceHealth, TrafficRouter } from '../platform/roles.ts';
import { KIT_SESSION_OPTIONS } from '../postgres/kit-session.ts';

/** Fewer blue requests than this in the window say nothing about its p99. */
export const MIN_WINDOW_REQUESTS = 5;

/**
 * Sessions running a statement on the source that are not the kit's own (its sessions all name
 * themselves `cutover…`) and not this one; walsenders and background workers are not clients.
 * `backend_type` exists from PostgreSQL 10.
 */
const ACTIVE_SESSIONS_SQL = `select count(*)::int as n from pg_stat_activity
  where state = 'active' and pid <> pg_backend_pid() and backend_type = 'client backend'
    and coalesce(application_name, '') not like 'cutover%'`;

/** Reads blue's health: the router's blue histogram over a window, and the source's sessions. */
export interface SourceHealthProbe {
  sample(): Promise<SourceHealth>;
  /** Something the operator should know about what the probe can see (once), or null. */
  readonly caveat: string | null;
  close(): Promise<void>;
}

/**
 * The `postgres` platform's probe: the router's cumulative metrics kept for `windowMs` (the p99 is
 * that of the requests blue finished in the window), and one session on the source for the
 * active-session count and the `select 1` round trip. Either side failing gives null figures, not
 * an error: pacing never stops a phase.
 */
export class RouterAndSessionProbe implements SourceHealthProbe {
  private readonly history: { at: number; m: RouterMetrics }[] = [];
  private client: pg.Client | null = null;
  private connecting: Promise<pg.Client | null> | null = null;
  caveat: string | null = null;

  constructor(
    private readonly sourceUrl: string | null,
    private readonly router: TrafficRouter | null,
    private readonly windowMs: number,
    private readonly now: () => number = () => Date.now(),
  ) {}

  async sample(): Promise<SourceHealth> {
    const [p99, db] = await Promise.all([this.blueWindow(), this.database()]);
    return { blueP99Ms: p99.p99, blueRequests: p99.requests, activeSessions: db.active, probeMs: db.probeMs };
  }

  private async blueWindow(): Promise<{ p99: number | null; requests: number }> {
    if (!this.router) return { p99: null, requests: 0 };
    const m = await this.router.metrics().catch(() => null);
    if (!m) return { p99: null, requests: 0 };
    const at = this.now();
    this.history.push({ at, m });
    // keep one snapshot at least `windowMs` old as the window's start
    while (this.history.length > 2 && at - this.history[1]!.at >= this.windowMs) this.history.shift();
    const first = this.history[0]!;
    if (first === this.history[this.history.length - 1]) return { p99: null, requests: 0 };
    const prev = first.m.upstreams.blue;
    const cur = m.upstreams.blue;
    const requests = cur.requests - prev.requests;
    if (requests < MIN_WINDOW_REQUESTS) return { p99: null, requests };
    return { p99: quantileFromCounts(cur.latencyBucketsMs, windowCounts(prev.latencyCounts, cur.latencyCounts), 0.99), requests };
  }

  private async database(): Promise<{ active: number | null; probeMs: number | null }> {
    const client = await this.connect();
    if (!client) return { active: null, probeMs: null };
    try {
      const t = performance.now();
      await client.query('select 1');
      const probeMs = Math.round(performance.now() - t);
      const { rows } = await client.query<{ n: number }>(ACTIVE_SESSIONS_SQL);
      return { active: rows[0]!.n, probeMs };
    } catch {
      // a lost session: the next sample opens a new one
      this.client = null;
      await client.end().catch(() => {});
      return { active: null, probeMs: null };
    }
  }

  private connect(): Promise<pg.Client | null> {
    if (this.client) return Promise.resolve(this.client);
    if (!this.sourceUrl) return Promise.resolve(null);
    this.connecting ??= (async () => {
      const client = new pg.Client({ connectionString: this.sourceUrl!, application_name: 'cutover-throttler', options: KIT_SESSION_OPTIONS, connectionTimeoutMillis: 5000 });
      client.on('error', () => {});
      try {
        await client.connect();
        const { rows } = await client.query<{ all: boolean }>(
          `select coalesce((select rolsuper from pg_roles where rolname = current_user), false)
               or exists (select 1 from pg_roles where rolname = 'pg_read_all_stats' and pg_has_role(current_user, oid, 'member')) as all`,
        );
        if (!rows[0]?.all) this.caveat = "active sessions: the kit's role sees only its own role's sessions on the source; grant it pg_monitor to count the others";
        this.client = client;
        return client;
      } catch {
        await client.end().catch(() => {});
        return null;
      } finally {
        this.connecting = null;
      }
    })();
    return this.connecting;
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = null;
    await c?.end().catch(() => {});
  }
}
