// A standalone process running cordon's WebSocket relay (from dist/) with stub deps: every
// connection gets a session, every text message an inspector that flags one literal word.
// Used by bench/ws.mjs; also runnable by hand:
//   node bench/ws-relay-harness.mjs --upstream ws://127.0.0.1:9000 [--port 8081] [--high-water 65536]
// When forked, it answers IPC messages: {cmd:'mem'} → memory after GC, {cmd:'count'}, and
// {cmd:'snap'} → a heap snapshot in /tmp/relay.heapsnapshot (to see what a connection costs).
import { createServer } from 'node:http';
import { handleUpgrade } from '../dist/proxy/websocket/relay.js';
import { WsRegistry } from '../dist/proxy/websocket/registry.js';

const args = new Map();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const upstream = new URL(args.get('upstream') ?? 'ws://127.0.0.1:9000');
const port = Number(args.get('port') ?? 0);

/** A stand-in for the policy engine's per-stream scanner: a literal and a bounded tail. */
class WordInspector {
  constructor(word, direction) {
    this.word = word;
    this.direction = direction;
    this.tail = '';
    this.tokens = 0;
    this.toolCalls = 0;
  }
  write(chunk) {
    const text = this.tail + chunk.toString('latin1');
    this.tail = text.slice(-(this.word.length - 1));
    if (!text.includes(this.word)) return null;
    return [{ rule: 'no-' + this.word, severity: 'high', action: 'block', direction: this.direction, excerpt: this.word }];
  }
  end() { return null; }
  bytes() { return this.tail.length; }
}

const bounds = {
  highWater: Number(args.get('high-water') ?? 64 * 1024),
  maxFrame: Number(args.get('max-frame') ?? 1024 * 1024),
  idleTimeoutMs: 600_000,
  connectTimeoutMs: 5_000,
  permessageDeflate: false,
  tlsVerify: true,
};
const registry = new WsRegistry({ idleTimeoutMs: bounds.idleTimeoutMs });
let nextSlot = 0;
const deps = {
  resolveSession: (req) => ({ slot: nextSlot++ % 100_000, id: String(req.headers['x-session-id'] ?? 'bench') }),
  pickUpstream: () => upstream,
  openInspector: (_slot, dir) => new WordInspector('forbidden', dir),
  onHit: () => 'close',
  registry,
  bounds,
};

const server = createServer((_req, res) => res.end());
server.on('upgrade', (req, socket, head) => handleUpgrade(req, socket, head, deps));
server.listen(port, '127.0.0.1', () => {
  const p = server.address().port;
  if (process.send) process.send({ ready: true, port: p });
  else console.log(`cordon ws relay on ws://127.0.0.1:${p} → ${upstream}`);
});

process.on('message', (m) => {
  if (m.cmd === 'mem') {
    for (let i = 0; i < 3; i++) globalThis.gc?.();
    const mu = process.memoryUsage();
    process.send({ rss: mu.rss, heapUsed: mu.heapUsed, external: mu.external, arrayBuffers: mu.arrayBuffers, count: registry.count(), accounted: registry.bytes() });
  } else if (m.cmd === 'snap') {
    globalThis.gc?.();
    import('node:v8').then((v8) => { v8.writeHeapSnapshot('/tmp/relay.heapsnapshot'); process.send({ snap: true }); });
  } else if (m.cmd === 'count') {
    process.send({ count: registry.count() });
  }
});
process.on('SIGTERM', () => process.exit(0));
process.on('disconnect', () => process.exit(0));
