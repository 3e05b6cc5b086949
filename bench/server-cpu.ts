import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU time a local database server has used, in ms: the process, its exited children (PostgreSQL
 * backends, reaped by the postmaster) and its live children. Under a load average of 15-30 wall
 * times swing by 2x between runs; CPU times per side stay within ~10 %, so a bench reports both.
 * Linux only (/proc); USER_HZ = 100.
 */
export function serverCpuMs(pid: number): number {
  const fields = (p: number): string[] | null => {
    try {
      const s = readFileSync(`/proc/${p}/stat`, 'utf8');
      return s.slice(s.lastIndexOf(')') + 2).split(' ');
    } catch {
      return null;
    }
  };
  const own = fields(pid);
  if (!own) return NaN;
  // after the command: state ppid … utime(11) stime(12) cutime(13) cstime(14)
  let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const f = fields(Number(d));
    if (f && Number(f[1]) === pid) ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks * 10;
}

/** The pid in a server's pid file (PostgreSQL's postmaster.pid, MariaDB's --pid-file): its first line. */
export function pidFromFile(file: string): number {
  return Number(readFileSync(file, 'utf8').split('\n')[0]!.trim());
}
