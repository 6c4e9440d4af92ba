// End to end: an upstream that sends interim responses nobody asked for. `100 Continue` before the
// final answer (whole, split across packets, or twice) and `103 Early Hints` must reach the client
// as the final answer, on kept-alive upstream connections too, never as a 502 (RFC 9110 §15.2).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net, { type AddressInfo } from 'node:net';
import { startGateway, type GatewayProc } from '../helpers/procs.js';

/** Answers each request per its path, keeping the connection open; counts connections. */
function interimUpstream(): net.Server & { connections: number } {
  const server = net.createServer((socket) => {
    server.connections++;
    let buf = Buffer.alloc(0);
    socket.on('error', () => {});
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.toString('latin1', 0, end);
        const len = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + len) return;
        buf = buf.subarray(end + 4 + len);
        answer(socket, head.split(' ')[1]);
      }
    });
  }) as net.Server & { connections: number };
  server.connections = 0;
  return server;
}

function answer(socket: net.Socket, path: string): void {
  const body = `{"path":"${path.slice(1, 6).padEnd(5, '_')}"}`;
  const final = `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`;
  const pieces: string[] = {
    '/c100': ['HTTP/1.1 100 Continue\r\n\r\n', final],
    '/split': ['HTTP/1.1 10', '0 Continue\r\n\r', '\n', final],
    '/twice': ['HTTP/1.1 100 Continue\r\nx-a: 1\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n' + final],
    '/hints': ['HTTP/1.1 103 Early Hints\r\nlink: </a.css>; rel=preload\r\n\r\n', 'HTTP/1.1 100 Continue\r\n\r\n', final],
  }[path] ?? [final];
  let i = 0;
  const next = (): void => {
    if (i < pieces.length) { socket.write(pieces[i++]); setTimeout(next, 15); }
  };
  next();
}

describe('unsolicited interim responses from the upstream', () => {
  let up: net.Server & { connections: number };
  let gw: GatewayProc;

  beforeAll(async () => {
    up = interimUpstream();
    await new Promise<void>((r) => up.listen(0, '127.0.0.1', r));
    gw = await startGateway(['--upstream', `http://127.0.0.1:${(up.address() as AddressInfo).port}`, '--policy', 'off']);
  }, 30_000);

  afterAll(async () => {
    await gw?.stop();
    await new Promise((r) => up?.close(r));
  });

  it('passes the final answer after a 100 Continue (whole, split, twice) and a 103, over kept-alive connections', async () => {
    for (let round = 0; round < 3; round++) {
      for (const path of ['/c100', '/split', '/twice', '/hints', '/plain']) {
        const r = await fetch(`${gw.proxy}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
        expect(r.status, path).toBe(200);
        expect(await r.json(), path).toEqual({ path: path.slice(1, 6).padEnd(5, '_') });
      }
    }
    // one connection carried them all: nothing was torn down
    expect(up.connections).toBe(1);
  });
});
