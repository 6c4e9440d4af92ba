import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { IncomingMessage } from 'node:http';
import { RawClient, startHarness, until, type Harness } from './harness.js';
import { frame } from './frames.js';

let h: Harness | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

function open(url: string, headers: Record<string, string> = {}, protocols?: string[]): Promise<WebSocket> {
  const ws = new WebSocket(url + '/chat', protocols, { headers, perMessageDeflate: false });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function nextMessage(ws: WebSocket): Promise<{ data: Buffer; binary: boolean }> {
  return new Promise((resolve) => ws.once('message', (data, binary) => resolve({ data: data as Buffer, binary })));
}

function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

describe('relay: happy path', () => {
  it('echoes text and binary through the relay, forwarding subprotocol and headers', async () => {
    h = await startHarness();
    let upgradeHeaders: IncomingMessage['headers'] = {};
    const ws = new WebSocket(h.url + '/chat?x=1', ['chat'], { headers: { 'x-session-id': 's1', authorization: 'Bearer t', origin: 'http://o' }, perMessageDeflate: false });
    ws.once('upgrade', (res) => (upgradeHeaders = res.headers));
    await new Promise((r) => ws.once('open', r));
    expect(ws.protocol).toBe('chat');
    expect(upgradeHeaders['x-session-id']).toBe('s1');
    const upReq = (([...h.upstream.clients][0] as unknown as { req: IncomingMessage }).req);
    expect(upReq.url).toBe('/base/chat?x=1');
    expect(upReq.headers.authorization).toBe('Bearer t');
    expect(upReq.headers.origin).toBe('http://o');
    expect(upReq.headers['x-forwarded-for']).toBe('127.0.0.1');

    ws.send('hello €');
    const m1 = await nextMessage(ws);
    expect(m1.binary).toBe(false);
    expect(m1.data.toString()).toBe('hello €');
    const bin = Buffer.from([0, 1, 2, 255]);
    ws.send(bin);
    const m2 = await nextMessage(ws);
    expect(m2.binary).toBe(true);
    expect(Buffer.compare(m2.data, bin)).toBe(0);
    const big = 'y'.repeat(300_000);
    ws.send(big);
    expect((await nextMessage(ws)).data.toString()).toBe(big);
    expect(h.registry.count()).toBe(1);
    expect(h.registry.forSession(h.slots.get('s1')!)).toHaveLength(1);
    expect(h.opened).toContain('request');
    expect(h.opened).toContain('response');

    const c = closed(ws);
    ws.close(1000, 'done');
    expect((await c).code).toBe(1000);
    await until(() => h!.registry.count() === 0 && h!.upstream.clients.size === 0);
  });

  it('passes ping/pong through', async () => {
    h = await startHarness();
    const ws = await open(h.url);
    const pong = new Promise<Buffer>((r) => ws.once('pong', r));
    ws.ping('abc');
    expect((await pong).toString()).toBe('abc');
    ws.terminate();
  });

  it('accepts an asynchronous session resolution', async () => {
    h = await startHarness();
    const ws = await open(h.url, { 'x-session-id': 'async' });
    ws.send('x');
    expect((await nextMessage(ws)).data.toString()).toBe('x');
    ws.terminate();
  });
});

describe('relay: policy and kill', () => {
  it('closes both sides with 1008 when a client text message hits, and the upstream never gets it', async () => {
    h = await startHarness();
    const ws = await open(h.url);
    ws.send('fine');
    await nextMessage(ws);
    const c = closed(ws);
    ws.send('this is forbidden text');
    const { code, reason } = await c;
    expect(code).toBe(1008);
    expect(reason).toContain('no-forbidden');
    expect(h.hits).toHaveLength(1);
    expect(h.hits[0].direction).toBe('request');
    expect(h.received).toEqual(['fine']);
    await until(() => h!.upstream.clients.size === 0);
  });

  it('closes with 1008 when an upstream text message hits, before the client sees it', async () => {
    h = await startHarness({ onUpstream: (ws) => ws.on('message', () => ws.send('a forbidden answer')) });
    const ws = await open(h.url);
    const got: string[] = [];
    ws.on('message', (d) => got.push(d.toString()));
    const c = closed(ws);
    ws.send('question');
    expect((await c).code).toBe(1008);
    expect(got).toEqual([]);
    expect(h.hits[0].direction).toBe('response');
  });

  it('scans a fragmented message as one stream (a word split across fragments)', async () => {
    h = await startHarness();
    const raw = await RawClient.open(h.port);
    raw.sock.write(Buffer.concat([frame({ opcode: 1, payload: 'forb', fin: false }), frame({ opcode: 9, payload: 'p' })]));
    await new Promise((r) => setTimeout(r, 50));
    raw.sock.write(frame({ opcode: 0, payload: 'idden' }));
    await until(() => raw.closeFrame() !== null);
    expect(raw.closeFrame()![0]).toBe(1008);
    expect(h.received).toEqual([]);
  });

  it('only flags when onHit says pass', async () => {
    h = await startHarness({ hitAction: 'pass' });
    const ws = await open(h.url);
    ws.send('forbidden but audited');
    expect((await nextMessage(ws)).data.toString()).toBe('forbidden but audited');
    expect(h.hits.length).toBeGreaterThanOrEqual(1);
    ws.terminate();
  });

  it('closeSession closes all of a session\'s sockets with 1008 within 100ms, and only those', async () => {
    h = await startHarness();
    const a = await Promise.all([open(h.url, { 'x-session-id': 'k' }), open(h.url, { 'x-session-id': 'k' }), open(h.url, { 'x-session-id': 'k' })]);
    const other = await open(h.url, { 'x-session-id': 'other' });
    expect(h.registry.forSession(h.slots.get('k')!)).toHaveLength(3);
    const closes = a.map(closed);
    const t0 = performance.now();
    expect(h.registry.closeSession(h.slots.get('k')!, 1008, 'session_killed')).toBe(3);
    const results = await Promise.all(closes);
    const elapsed = performance.now() - t0;
    expect(elapsed).toBeLessThan(100);
    for (const r of results) {
      expect(r.code).toBe(1008);
      expect(r.reason).toBe('session_killed');
    }
    expect(h.registry.count()).toBe(1);
    other.send('still here');
    expect((await nextMessage(other)).data.toString()).toBe('still here');
    await until(() => h!.upstream.clients.size === 1);
    other.terminate();
  });

  it('closes idle connections with 1001', async () => {
    h = await startHarness({ bounds: { idleTimeoutMs: 1000 } });
    const ws = await open(h.url);
    const r = await closed(ws);
    expect(r.code).toBe(1001);
  });
});

describe('relay: refusals and failures', () => {
  it('refuses before the upgrade with a plain HTTP error in the SPEC shape', async () => {
    h = await startHarness();
    const ws = new WebSocket(h.url, { headers: { 'x-session-id': 'killed' } });
    const res = await new Promise<IncomingMessage>((resolve) => ws.on('unexpected-response', (_req, res) => resolve(res)));
    expect(res.statusCode).toBe(403);
    const body = await new Promise<string>((resolve) => {
      let s = '';
      res.on('data', (d) => (s += d));
      res.on('end', () => resolve(s));
    });
    expect(JSON.parse(body)).toEqual({ error: { message: 'session killed', type: 'session_killed', code: 'session_killed' } });
    expect(h.upstream.clients.size).toBe(0);
    expect(h.registry.count()).toBe(0);
  });

  it('answers 502 when the upstream is down', async () => {
    h = await startHarness();
    h.deps.pickUpstream = () => new URL('ws://127.0.0.1:1/');
    const ws = new WebSocket(h.url);
    const res = await new Promise<IncomingMessage>((resolve) => ws.on('unexpected-response', (_req, res) => resolve(res)));
    expect(res.statusCode).toBe(502);
    await until(() => h!.registry.count() === 0);
  });

  it('answers 502 when the upstream refuses the upgrade', async () => {
    h = await startHarness();
    h.upstream.options.verifyClient = () => false;
    const ws = new WebSocket(h.url);
    const res = await new Promise<IncomingMessage>((resolve) => ws.on('unexpected-response', (_req, res) => resolve(res)));
    expect(res.statusCode).toBe(502);
  });

  it('rejects a non-WebSocket upgrade with 400 and a wrong version with 426', async () => {
    h = await startHarness();
    for (const [hdrs, status] of [['Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n', 400], ['Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n', 426]] as const) {
      const { connect } = await import('node:net');
      const s = connect(h.port, '127.0.0.1');
      let out = '';
      s.on('data', (d) => (out += d));
      s.write(`GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n${hdrs}\r\n`);
      await new Promise((r) => s.on('close', r));
      expect(out.startsWith(`HTTP/1.1 ${status}`)).toBe(true);
      expect(out).toContain('"type":"invalid_request"');
    }
  });

  it('closes the client with 1014 when the upstream dies without a close frame', async () => {
    h = await startHarness();
    const ws = await open(h.url);
    const c = closed(ws);
    for (const u of h.upstream.clients) u.terminate();
    const r = await c;
    expect(r.code).toBe(1014);
    await until(() => h!.registry.count() === 0);
  });

  it('closes the upstream when the client dies (no half-open upstream)', async () => {
    h = await startHarness();
    const ws = await open(h.url);
    await until(() => h!.upstream.clients.size === 1);
    ws.terminate();
    await until(() => h!.upstream.clients.size === 0);
    expect(h.registry.count()).toBe(0);
  });

  it.each([
    ['an unmasked client frame', frame({ opcode: 1, payload: 'x', mask: false }), 1002],
    ['invalid UTF-8', frame({ opcode: 1, payload: Buffer.from([0x61, 0xff]) }), 1007],
    ['a reserved opcode', frame({ opcode: 5 }), 1002],
    ['an oversize frame', frame({ opcode: 2, payload: Buffer.alloc(5000) }), 1009],
  ])('closes the client on %s with the right code, and closes the upstream', async (_n, bad, code) => {
    h = await startHarness({ bounds: { maxFrame: 4096 } });
    const raw = await RawClient.open(h.port);
    await until(() => h!.upstream.clients.size === 1);
    raw.sock.write(Buffer.concat([frame({ opcode: 1, payload: 'ok' }), bad]));
    await until(() => raw.closed);
    expect(raw.closeFrame()?.[0]).toBe(code);
    await until(() => h!.upstream.clients.size === 0);
    expect(h.received).toEqual(['ok']);
    expect(h.registry.count()).toBe(0);
  });

  it('closes the client with 1014 when the upstream sends a masked frame', async () => {
    h = await startHarness({
      onUpstream: (ws) => ws.on('message', () => (ws as unknown as { _socket: import('node:net').Socket })._socket.write(frame({ opcode: 1, payload: 'masked', mask: true }))),
    });
    const ws = await open(h.url);
    const c = closed(ws);
    ws.send('go');
    expect((await c).code).toBe(1014);
  });
});

describe('relay: backpressure', () => {
  it('stops reading the upstream when the client does not read, keeping held bytes bounded', async () => {
    const hw = 64 * 1024;
    let upWs: WebSocket | null = null;
    h = await startHarness({ bounds: { highWater: hw }, onUpstream: (ws) => (upWs = ws) });
    const raw = await RawClient.open(h.port);
    raw.sock.pause(); // the client stops reading
    await until(() => upWs !== null);
    const chunk = Buffer.alloc(64 * 1024, 1);
    for (let i = 0; i < 200; i++) upWs!.send(chunk); // 12.8MB offered
    let maxHeld = 0;
    for (let i = 0; i < 40; i++) {
      await new Promise((r) => setTimeout(r, 25));
      maxHeld = Math.max(maxHeld, h.registry.bytes());
    }
    // The relay holds at most the high-water mark plus one socket read; the rest waits upstream.
    expect(maxHeld).toBeLessThan(hw + 256 * 1024);
    expect(upWs!.bufferedAmount).toBeGreaterThan(4 * 1024 * 1024);
    // and resumes when the client reads again
    raw.sock.resume();
    await until(() => upWs!.bufferedAmount === 0, 10_000);
    raw.sock.destroy();
  });
});

describe('relay: extensions, TLS, handshake races', () => {
  it('strips permessage-deflate from the offer by default', async () => {
    h = await startHarness();
    const ws = new WebSocket(h.url, { perMessageDeflate: true });
    await new Promise((r) => ws.once('open', r));
    expect(ws.extensions).toBe('');
    const upReq = ([...h.upstream.clients][0] as unknown as { req: IncomingMessage }).req;
    expect(upReq.headers['sec-websocket-extensions']).toBeUndefined();
    ws.send('plain');
    expect((await nextMessage(ws)).data.toString()).toBe('plain');
    ws.terminate();
  });

  it('negotiates permessage-deflate when the config enables it (compressed frames pass through)', async () => {
    h = await startHarness({ bounds: { permessageDeflate: true } });
    const ws = new WebSocket(h.url, { perMessageDeflate: { threshold: 0 } });
    await new Promise((r) => ws.once('open', r));
    expect(ws.extensions).toContain('permessage-deflate');
    const text = 'compressible '.repeat(100);
    ws.send(text);
    expect((await nextMessage(ws)).data.toString()).toBe(text);
    ws.terminate();
  });

  it('relays to a wss:// upstream', async () => {
    const { execFileSync } = await import('node:child_process');
    const { mkdtempSync, readFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { createServer } = await import('node:https');
    const { WebSocketServer } = await import('ws');
    const dir = mkdtempSync(join(tmpdir(), 'wss-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
    const https = createServer({ key: readFileSync(join(dir, 'k.pem')), cert: readFileSync(join(dir, 'c.pem')) });
    const wss = new WebSocketServer({ server: https });
    wss.on('connection', (s) => s.on('message', (d) => s.send('tls:' + d.toString())));
    await new Promise<void>((r) => https.listen(0, '127.0.0.1', () => r()));
    const port = (https.address() as import('node:net').AddressInfo).port;
    h = await startHarness({ bounds: { tlsVerify: false } });
    h.deps.pickUpstream = () => new URL(`wss://localhost:${port}/`);
    try {
      const ws = await open(h.url);
      ws.send('hi');
      expect((await nextMessage(ws)).data.toString()).toBe('tls:hi');
      ws.terminate();
      // with verification on, the self-signed upstream is refused before the upgrade completes
      h.deps.bounds.tlsVerify = true;
      const bad = new WebSocket(h.url);
      const res = await new Promise<IncomingMessage>((resolve) => bad.on('unexpected-response', (_q, r) => resolve(r)));
      expect(res.statusCode).toBe(502);
    } finally {
      for (const c of wss.clients) c.terminate();
      https.closeAllConnections();
      await new Promise((r) => https.close(r));
    }
  });

  it('a kill during the upstream handshake answers 403 and leaves no upstream', async () => {
    h = await startHarness();
    // an upstream that accepts TCP but never answers the handshake
    const { createServer } = await import('node:net');
    const sockets: import('node:net').Socket[] = [];
    let upstreamClosed = false;
    const silent = createServer((s) => {
      sockets.push(s);
      s.resume();
      s.on('close', () => (upstreamClosed = true));
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    h.deps.pickUpstream = () => new URL(`ws://127.0.0.1:${(silent.address() as import('node:net').AddressInfo).port}/`);
    const ws = new WebSocket(h.url, { headers: { 'x-session-id': 'slow' } });
    const res = new Promise<IncomingMessage>((resolve) => ws.on('unexpected-response', (_q, r) => resolve(r)));
    await until(() => sockets.length === 1);
    expect(h.registry.closeSession(h.slots.get('slow')!, 1008, 'session_killed')).toBe(1);
    expect((await res).statusCode).toBe(403);
    await until(() => upstreamClosed);
    silent.close();
  });

  it('answers 504 when the upstream does not complete the handshake in time', async () => {
    h = await startHarness({ bounds: { connectTimeoutMs: 200 } });
    const { createServer } = await import('node:net');
    const silent = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    h.deps.pickUpstream = () => new URL(`ws://127.0.0.1:${(silent.address() as import('node:net').AddressInfo).port}/`);
    const ws = new WebSocket(h.url);
    const res = await new Promise<IncomingMessage>((resolve) => ws.on('unexpected-response', (_q, r) => resolve(r)));
    expect(res.statusCode).toBe(504);
    silent.close();
  });
});

describe('relay: backpressure towards the upstream', () => {
  it('stops reading the client when the upstream does not read', async () => {
    const hw = 64 * 1024;
    let upSock: import('node:net').Socket | null = null;
    h = await startHarness({
      bounds: { highWater: hw },
      onUpstream: (ws) => {
        upSock = (ws as unknown as { _socket: import('node:net').Socket })._socket;
        upSock.pause(); // the upstream stops reading
      },
    });
    const ws = await open(h.url);
    await until(() => upSock !== null);
    const chunk = Buffer.alloc(64 * 1024, 2);
    for (let i = 0; i < 200; i++) ws.send(chunk);
    let maxHeld = 0;
    for (let i = 0; i < 40; i++) {
      await new Promise((r) => setTimeout(r, 25));
      maxHeld = Math.max(maxHeld, h.registry.bytes());
    }
    expect(maxHeld).toBeLessThan(hw + 256 * 1024);
    expect(ws.bufferedAmount).toBeGreaterThan(4 * 1024 * 1024);
    upSock!.resume();
    await until(() => ws.bufferedAmount === 0, 10_000);
    ws.terminate();
  });
});

describe('relay: never throws', () => {
  it('answers 502 for an upstream URL it cannot connect to at all', async () => {
    h = await startHarness();
    h.deps.pickUpstream = () => new URL('ws://127.0.0.1:99999999/'.replace('99999999', '0'));
    const ws = new WebSocket(h.url);
    const res = await new Promise<IncomingMessage>((resolve) => ws.on('unexpected-response', (_q, r) => resolve(r)));
    expect(res.statusCode).toBe(502);
    await until(() => h!.registry.count() === 0);
  });
});

describe('relay: garbage from the client', () => {
  it('never crashes and never leaves an upstream open', async () => {
    h = await startHarness({ bounds: { maxFrame: 4096 } });
    const { rng } = await import('./frames.js');
    const r = rng(11);
    for (let t = 0; t < 20; t++) {
      const raw = await RawClient.open(h.port);
      const len = 2 + Math.floor(r() * 300);
      const b = Buffer.alloc(len);
      for (let i = 0; i < len; i++) b[i] = Math.floor(r() * 256);
      b[0] = (b[0] & 0x0f) | 0x80; // mostly plausible first bytes, to get past the header sometimes
      raw.sock.write(b);
      // garbage either fails (close) or leaves a frame waiting for more bytes: then the client leaves
      await new Promise((res) => setTimeout(res, 20));
      raw.sock.destroy();
    }
    await until(() => h!.registry.count() === 0 && h!.upstream.clients.size === 0, 5000);
  });
});
