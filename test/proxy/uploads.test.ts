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

  it('admits bodies against the byte budget in arrival order; the rest wait unread until earlier ones are forwarded', () => {
    const uploads = new Uploads(1_000_000);
    const log: string[] = [];
    const r = (n: string) => ({ pause: () => { log.push(`pause ${n}`); }, resume: () => { log.push(`resume ${n}`); } });
    const a = r('a'), b = r('b'), c = r('c'), d = r('d');
    uploads.add(a, 600_000);
    uploads.add(b, 600_000); // does not fit: waits
    uploads.add(c, 300_000); // would fit, but b came first
    uploads.add(d, 2_000); // small: never waits
    expect(log).toEqual(['pause b', 'pause c']);
    expect(uploads.bytes).toBe(602_000);
    expect(uploads.waitingCount).toBe(2);
    uploads.delete(a); // read whole: still holds its bytes until forwarded
    expect(uploads.waitingCount).toBe(2);
    uploads.release(a);
    expect(log.slice(2)).toEqual(['resume b', 'resume c']);
    expect(uploads.bytes).toBe(902_000);
    uploads.release(d);
    uploads.release(d); // twice: nothing more happens
    uploads.release(c);
    uploads.release(b);
    expect(uploads.bytes).toBe(0);
    expect(uploads.queued).toBe(2);
  });

  it('always admits one body, however large; a waiting request that ends is dropped from the queue', () => {
    const uploads = new Uploads(300_000);
    const resumed: string[] = [];
    const r = (n: string) => ({ pause: () => undefined, resume: () => { resumed.push(n); } });
    const big = r('big'), gone = r('gone'), next = r('next');
    uploads.add(big, 50_000);
    expect(uploads.bytes).toBe(50_000);
    uploads.add(gone, 299_000);
    uploads.add(next, 299_000);
    uploads.release(gone); // e.g. a 408 while it waited
    expect(uploads.waitingCount).toBe(1);
    uploads.release(big);
    expect(resumed).toEqual(['next']);
  });

  it('keeps a body admitted while paused at critical paused', () => {
    const uploads = new Uploads(300_000);
    const log: string[] = [];
    const r = (n: string) => ({ pause: () => { log.push(`pause ${n}`); }, resume: () => { log.push(`resume ${n}`); } });
    const a = r('a'), b = r('b');
    uploads.add(a, 300_000);
    uploads.add(b, 300_000);
    uploads.pauseAll();
    uploads.release(a);
    expect(log).toEqual(['pause b', 'pause a', 'pause b']);
    uploads.resumeAll();
    expect(log.at(-1)).toBe('resume b');
  });

  it('tells a request when it starts and stops waiting (its stall clock at warning)', () => {
    const uploads = new Uploads(300_000);
    const seen: boolean[] = [];
    const a = { pause: () => undefined, resume: () => undefined };
    const b = { pause: () => undefined, resume: () => undefined, queued: (on: boolean) => { seen.push(on); } };
    uploads.add(a, 300_000);
    uploads.add(b, 300_000);
    expect(seen).toEqual([true]);
    uploads.release(a);
    expect(seen).toEqual([true, false]);
  });
});
