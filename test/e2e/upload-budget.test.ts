// Request bodies are held whole for the policy, so together they are admitted against a share of the
// memory budget (proxy/uploads.ts): under --memory-limit 256MB (64 MiB of bodies, each reserving three
// times its length) eight concurrent 4 MB uploads all go through, but no more than five are held at once.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayProc } from '../helpers/procs.js';

let upstream: http.Server;
let gw: GatewayProc | null = null;
let inFlight = 0;
let maxInFlight = 0;
let received = 0;

beforeAll(async () => {
  // Reads each body whole, then answers a little later: bodies overlap if the gateway lets them.
  upstream = http.createServer((req, res) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    let n = 0;
    req.on('data', (c: Buffer) => { n += c.length; });
    req.on('end', () => setTimeout(() => {
      received += n;
      inFlight--;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    }, 150));
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  gw = await startGateway(['--upstream', url, '--memory-limit', '256MB', '--policy', 'off']);
}, 30_000);

afterAll(async () => {
  gw?.child.kill();
  await new Promise<void>((r) => { upstream.closeAllConnections(); upstream.close(() => r()); });
});

function upload(proxy: string, bytes: number, i: number): Promise<number | string> {
  const body = Buffer.from(`{"model":"m","messages":[{"role":"user","content":"${'a'.repeat(bytes - 60)}"}]}`);
  const u = new URL(proxy);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: Number(u.port), method: 'POST', path: '/v1/chat/completions',
      headers: { 'content-type': 'application/json', 'content-length': body.length, 'x-session-id': `upload-${i}` } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => { text += d.toString(); });
      res.on('end', () => resolve(res.statusCode === 200 ? 200 : `${res.statusCode} ${text}`));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('upload budget', () => {
  it('holds at most budget/size bodies at once and lets every upload through', async () => {
    const size = 4 * 1000 * 1000;
    const statuses = await Promise.all(Array.from({ length: 8 }, (_, i) => upload(gw!.proxy, size, i)));
    expect(statuses).toEqual(Array(8).fill(200));
    expect(received).toBeGreaterThanOrEqual(8 * (size - 60));
    expect(maxInFlight).toBeGreaterThanOrEqual(1);
    expect(maxInFlight).toBeLessThanOrEqual(5); // 64 MiB / (3 × 4 MB)
  }, 60_000);
});
