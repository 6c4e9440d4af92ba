// limits.stream_buffer end to end: a client that (almost) stops reading costs the gateway no more
// than the limit plus a constant, whatever the upstream sends, because the upstream stops being read
// (its kernel window closes); bad limits exit 2 naming the key.
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runToExit, startGateway, type GatewayProc } from '../helpers/procs.js';

const KiB = 1024;
/** One socket read undici hands on whole (64KiB) plus node's read buffer of the paused upstream (16KiB). */
const CONSTANT = 80 * KiB;

let upstream: http.Server;
let upstreamUrl = '';
/** bytes the upstream's kernel accepted, per request path */
const accepted = new Map<string, number>();

beforeAll(async () => {
  // Writes as fast as the socket takes it, up to 256MB: a flood the client never reads.
  upstream = http.createServer((req, res) => {
    const sse = req.url!.includes('sse');
    res.writeHead(200, { 'content-type': sse ? 'text/event-stream' : 'application/octet-stream' });
    // One SSE line of many megabytes for /sse (no newline until the end), raw bytes otherwise.
    const chunk = Buffer.alloc(32 * KiB, sse ? 'a' : 'b');
    if (sse) res.write('data: ');
    let sent = 0;
    const pump = () => {
      while (sent < 256 * 1024 * KiB) {
        sent += chunk.length;
        accepted.set(req.url!, sent);
        if (!res.write(chunk)) { res.once('drain', pump); return; }
      }
      res.end('\n\n');
    };
    pump();
    res.on('close', () => undefined);
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => { upstream.closeAllConnections(); upstream.close(() => r()); }));

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** A client that sends the request, reads the head, then takes one byte a second. */
function slowReader(proxy: string, path: string): { socket: net.Socket; got: () => number } {
  const u = new URL(proxy);
  const socket = net.connect(Number(u.port), u.hostname);
  let got = 0;
  socket.setNoDelay(true);
  socket.write(`GET ${path} HTTP/1.1\r\nhost: x\r\nx-session-id: slow-${path.slice(1)}\r\n\r\n`);
  socket.once('data', (d) => {
    got += d.length;
    socket.pause();
    const timer = setInterval(() => { const b = socket.read(1) as Buffer | null; if (b) got += b.length; }, 1000);
    socket.once('close', () => clearInterval(timer));
  });
  socket.on('error', () => undefined);
  return { socket, got: () => got };
}

describe('limits.stream_buffer', () => {
  let gw: GatewayProc;
  beforeAll(async () => {
    gw = await startGateway(['--upstream', upstreamUrl, '--stream-buffer', '64KiB']);
  });
  afterAll(async () => { await gw?.stop(); });

  for (const path of ['/sse', '/raw']) {
    it(`a 1 byte/s reader of ${path} holds at most the limit plus a constant; the upstream is stopped`, async () => {
      const rss0 = rssOf(gw.child.pid!);
      const r = slowReader(gw.proxy, path);
      const wait = (ms: number) => new Promise((res) => setTimeout(res, ms));
      await wait(2_000);
      const a1 = accepted.get(path) ?? 0;
      await wait(1_500);
      const a2 = accepted.get(path) ?? 0;
      const mem = await (await fetch(`${gw.control}/control/memory?top=5`)).json() as { streams: Array<{ session_id: string; kind: string; buffered_bytes: number }>; components: { buffers: { bytes: number } } };
      const row = mem.streams.find((s) => s.session_id === `slow-${path.slice(1)}`);
      expect(row, JSON.stringify(mem.streams)).toBeDefined();
      expect(row!.kind).toBe(path.startsWith('/sse') ? 'sse' : 'http');
      expect(row!.buffered_bytes).toBeLessThanOrEqual(64 * KiB + CONSTANT);
      expect(mem.components.buffers.bytes).toBeGreaterThanOrEqual(row!.buffered_bytes);
      // The upstream's writes stopped: only the kernel buffers of the two sockets took anything.
      expect(a2 - a1).toBeLessThan(256 * KiB);
      expect(a2).toBeLessThan(32 * 1024 * KiB);
      // And the gateway's RSS did not follow the flood (256MB offered; what did grow is the garbage of
      // the few MB relayed into the kernel buffers before they filled, and first-request warm-up).
      expect(rssOf(gw.child.pid!) - rss0).toBeLessThan(40 * 1024 * KiB);
      expect(r.got()).toBeLessThan(a2);
      r.socket.destroy();
    }, 15_000);
  }
});

describe('limits.stream_buffer: bad values exit 2 naming the key', () => {
  const base = ['start', '--upstream', 'http://127.0.0.1:1', '--listen', '127.0.0.1:0', '--control-listen', '127.0.0.1:0'];
  it('below 4KiB', async () => {
    const r = await runToExit([...base, '--stream-buffer', '1KiB']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/limits\.stream_buffer: must be at least 4KiB/);
  });
  it('above the memory limit (env)', async () => {
    const r = await runToExit([...base, '--memory-limit', '128MB'], { CORDON_STREAM_BUFFER: '256MB' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/limits\.stream_buffer: must be at most the memory limit/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
  it('not a size', async () => {
    const r = await runToExit([...base, '--stream-buffer', 'big']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/limits\.stream_buffer: not a size/);
  });
});
