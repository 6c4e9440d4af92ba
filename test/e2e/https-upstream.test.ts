// HTTPS upstreams: certificate checking is on by default, and `upstream_pool.tls_verify: false` opts out.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCert } from '../operator/certs.js';
import { startGateway } from '../helpers/procs.js';

const dir = mkdtempSync(join(tmpdir(), 'cordon-https-up-'));
let server: https.Server;
let port = 0;

beforeAll(async () => {
  const { cert, key } = makeCert(dir, 'up', 'localhost', ['localhost']);
  server = https.createServer({ cert: readFileSync(cert), key: readFileSync(key) }, (req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok: true, path: req.url }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => { server?.close(); });

describe('HTTPS upstream', () => {
  it('refuses a self-signed upstream by default (502)', async () => {
    const gw = await startGateway(['--upstream', `https://localhost:${port}/v1`, '--policy', 'off']);
    try {
      const r = await fetch(`${gw.proxy}/models`);
      expect(r.status).toBe(502);
      await r.arrayBuffer();
    } finally { await gw.stop(); }
  });

  it('proxies to it with tls_verify: false', async () => {
    const cfg = join(dir, 'c.yaml');
    writeFileSync(cfg, `upstreams:\n  - url: https://localhost:${port}/v1\nupstream_pool:\n  tls_verify: false\npolicy:\n  preset: off\n`);
    const gw = await startGateway(['--config', cfg]);
    try {
      const r = await fetch(`${gw.proxy}/models`);
      expect(r.status).toBe(200);
      expect(await r.json()).toEqual({ ok: true, path: '/v1/models' });
    } finally { await gw.stop(); }
  });
});
