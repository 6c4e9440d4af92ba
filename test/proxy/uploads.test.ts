// Uploads in progress stop being read while paused (critical memory pressure) and go on after.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { Uploads } from '../../src/proxy/uploads.js';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Uploads', () => {
  it('pauses reading of bodies in progress and of new ones, then resumes', async () => {
    const uploads = new Uploads();
    let received = 0;
    let ended = false;
    const server = http.createServer((req, res) => {
      uploads.add(req);
      req.on('data', (c: Buffer) => { received += c.length; });
      req.on('end', () => { ended = true; uploads.delete(req); res.end('ok'); });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/' });
    req.on('error', () => undefined);
    req.write(Buffer.alloc(1000));
    await tick(100);
    expect(received).toBe(1000);
    expect(uploads.count).toBe(1);

    uploads.pauseAll();
    req.write(Buffer.alloc(1000));
    await tick(150);
    expect(received).toBe(1000); // not read while paused

    uploads.resumeAll();
    await tick(100);
    expect(received).toBe(2000);
    req.end();
    await tick(100);
    expect(ended).toBe(true);
    expect(uploads.count).toBe(0);
    server.close();
  });

  it('a request added while paused starts paused', () => {
    const uploads = new Uploads();
    let paused = 0;
    uploads.pauseAll();
    uploads.add({ pause: () => { paused++; }, resume: () => undefined });
    expect(paused).toBe(1);
  });
});
