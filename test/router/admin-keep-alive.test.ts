import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, expect, test } from 'vitest';
import { RouterClient } from '../../lib/platform/router-client.ts';
import { startWeightedRouter } from '../../lib/router/weighted-router.ts';

/**
 * The kit's calls to the router's admin API on a loaded machine (issue 12): a starved kit sent
 * `GET /state` on a pooled connection the router was closing (Node's 5 s keep-alive against the
 * client's 4 s idle limit) and the rehearsal stopped with CONNECTION_FAILED ... ECONNRESET.
 */
describe('router admin API connections', () => {
  test('the admin server keeps idle connections 65 s, far beyond the client\'s 4 s idle limit', async () => {
    const router = await startWeightedRouter({ blueUrl: 'http://127.0.0.1:1', greenUrl: 'http://127.0.0.1:1' });
    try {
      const res = await fetch(`${router.adminUrl}/state`);
      await res.text();
      expect(res.headers.get('keep-alive')).toBe('timeout=65');
    } finally {
      await router.stop();
    }
  });

  /** An admin API whose first connection is closed unanswered when a request arrives on it; later ones answer `{}`. */
  async function closingAdmin() {
    const seen: string[] = [];
    let connections = 0;
    const server = net.createServer((socket) => {
      const first = ++connections === 1;
      socket.on('error', () => {});
      socket.on('data', (chunk: Buffer) => {
        seen.push(chunk.toString('latin1').split('\r\n')[0]!);
        if (first) return void socket.destroy();
        socket.end('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 63\r\nConnection: close\r\n\r\n{"readWeightGreen":0,"writeTarget":"blue","writesHeld":false}  ');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, stop: () => new Promise<void>((r) => server.close(() => r())) };
  }

  test('a GET or PUT whose connection broke is sent once more; a POST is not sent twice (it may have acted)', async () => {
    const a = await closingAdmin();
    try {
      expect(await new RouterClient(a.url).state()).toMatchObject({ writeTarget: 'blue' });
      expect(a.seen).toEqual(['GET /state HTTP/1.1', 'GET /state HTTP/1.1']);
    } finally {
      await a.stop();
    }
    const b = await closingAdmin();
    try {
      await expect(new RouterClient(b.url).releaseWrites()).rejects.toMatchObject({ code: 'CONNECTION_FAILED' });
      expect(b.seen).toEqual(['POST /writes/release HTTP/1.1']);
    } finally {
      await b.stop();
    }
  });
});
