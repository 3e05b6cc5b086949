import pg from 'pg';
import { CutoverError } from '../errors.ts';

/** `host:port/db` of a PostgreSQL URL, never the password. */
export function describeEndpoint(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return '(unparsable URL)';
  }
}

/**
 * A failed connection as CONNECTION_FAILED (nothing answers, DNS, TLS, no such database) or
 * AUTH_FAILED (the server answered and refused the credentials), naming the side and endpoint.
 * The driver's message is kept only when it cannot contain the password.
 */
export function connectionError(err: unknown, side: 'source' | 'target', url: string): CutoverError {
  if (err instanceof CutoverError) return err;
  const endpoint = describeEndpoint(url);
  const code = (err as { code?: string }).code;
  const message = (err as Error)?.message ?? String(err);
  // 28P01 invalid_password, 28000 invalid_authorization_specification
  if (code === '28P01' || code === '28000') {
    return new CutoverError('AUTH_FAILED', `the ${side} database at ${endpoint} refused the credentials (${code === '28P01' ? 'wrong password' : 'not authorized'})`, {
      received: `user ${safeUser(url)}`,
      fix: `check the user and password in ${side}.url (use \${ENV_VAR} for the password) and pg_hba.conf on the server`,
    });
  }
  if (code === '3D000') {
    return new CutoverError('CONNECTION_FAILED', `the ${side} database at ${endpoint} does not exist`, {
      received: endpoint,
      fix: `create the database or correct the database name in ${side}.url`,
    });
  }
  return new CutoverError('CONNECTION_FAILED', `cannot connect to the ${side} database at ${endpoint}: ${redact(message, url)}`, {
    received: endpoint,
    fix: `check that PostgreSQL is running and reachable at ${endpoint} (host, port, firewall, security group) and that ${side}.url is right`,
    cause: err,
  });
}

function safeUser(url: string): string {
  try {
    return decodeURIComponent(new URL(url).username) || '(default)';
  } catch {
    return '(unknown)';
  }
}

function redact(message: string, url: string): string {
  try {
    const password = decodeURIComponent(new URL(url).password);
    return password ? message.split(password).join('***') : message;
  } catch {
    return message;
  }
}

/** Opens one connection to check reachability and credentials; closes it. */
export async function probeConnection(url: string, side: 'source' | 'target', timeoutMs = 10_000): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('select 1');
  } catch (err) {
    throw connectionError(err, side, url);
  } finally {
    await client.end().catch(() => {});
  }
}

/** The session assess reads a PostgreSQL side with (`cutover-assess`); a failure is a connection error naming the side. */
export async function connectAssessSession(url: string, side: 'source' | 'target'): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000, application_name: 'cutover-assess' });
  client.on('error', () => {});
  try {
    await client.connect();
    return client;
  } catch (err) {
    await client.end().catch(() => {});
    throw connectionError(err, side, url);
  }
}
