/**
 * The parts a database URL lacks among user, host and database. Drivers fill a missing one in
 * silently — the OS user, 127.0.0.1 (or a local socket), a database named like the user — so
 * `postgres://` alone would connect somewhere nobody meant. A socket folder given as `?host=`
 * counts as a host. A URL the WHATWG parser cannot read (an unencoded `#` in a password…) is
 * left to the driver, which reports its own error on connect.
 */
export function missingUrlParts(url: string): string[] {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return [];
  }
  const missing: string[] = [];
  if (!u.username) missing.push('user');
  if (!u.hostname && !u.searchParams.get('host')) missing.push('host');
  if (!u.pathname.replace(/^\/+/, '')) missing.push('database');
  return missing;
}
