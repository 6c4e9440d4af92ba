// CLI misuse: every bad input exits 2 with one clear line per problem and no stack trace.
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { runToExit, startGateway, startMockLlm, type Proc } from '../helpers/procs.js';

const dir = mkdtempSync('/tmp/cordon-cli-');
const file = (name: string, text: string) => { const p = `${dir}/${name}`; writeFileSync(p, text); return p; };
const procs: Proc[] = [];
afterAll(async () => { await Promise.all(procs.map((p) => p.stop('SIGKILL'))); });

function expectExit2(r: { code: number | null; stderr: string }, ...lines: RegExp[]) {
  expect(r.code).toBe(2);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  for (const l of lines) expect(r.stderr).toMatch(l);
}

describe('cordon start: bad input exits 2', () => {
  it('unknown flag', async () => expectExit2(await runToExit(['start', '--bogus']), /unknown option '--bogus'/));
  it('no upstream at all', async () => expectExit2(await runToExit(['start']), /upstreams: at least one upstream is required/));
  it('a bad upstream URL', async () => expectExit2(await runToExit(['start', '--upstream', 'not a url']), /upstreams\[0\]\.url: not a URL/));
  it('a non-http upstream', async () => expectExit2(await runToExit(['start', '--upstream', 'ftp://x']), /must be http:\/\/ or https:\/\//));
  it('an unknown preset', async () => expectExit2(await runToExit(['start', '--upstream', 'http://127.0.0.1:1', '--policy', 'lax']), /policy\.preset: must be one of off, minimal, standard, strict/));
  it('a nonsense size', async () => expectExit2(await runToExit(['start', '--upstream', 'http://127.0.0.1:1', '--max-body', 'lots']), /max_body: not a size/));
  it('bad YAML, with line and column', async () => {
    const p = file('bad.yaml', 'listen: 127.0.0.1:0\nupstreams: [\n  - url: x\n');
    expectExit2(await runToExit(['start', '--config', p]), new RegExp(`${p}:\\d+:\\d+: `));
  });
  it('several problems at once, one line each', async () => {
    const p = file('many.yaml', 'upstreams:\n  - url: http://a\nprofile: huge\nbogus_key: 1\npolicy:\n  rules:\n    - name: r1\n      patterns: [x]\n      action: explode\n');
    const r = await runToExit(['start', '--config', p]);
    expectExit2(r, /profile: must be one of high-density, standard, forensics/, /bogus_key: unknown key/, /policy\.rules\[0\]\.action: must be one of flag, block, terminate, hold, redact/);
    expect(r.stderr.trim().split('\n').length).toBe(3);
  });
  it('env sets what the flag does not; the flag beats env', async () => {
    const mock = await startMockLlm(); procs.push(mock);
    const gw = await startGateway(['--listen', '127.0.0.1:0'], { CORDON_UPSTREAM: mock.url, CORDON_LISTEN: '127.0.0.1:1' });
    procs.push(gw);
    expect(gw.proxy).not.toContain(':1/');
    const r = await fetch(`${gw.proxy}/v1/models`);
    expect(r.status).toBe(200);
  });
  it('a port in use', async () => {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as net.AddressInfo).port;
    const r = await runToExit(['start', '--upstream', 'http://127.0.0.1:1', '--listen', `127.0.0.1:${port}`, '--control-listen', '127.0.0.1:0']);
    srv.close();
    expectExit2(r, new RegExp(`listen 127.0.0.1:${port}: address already in use`));
  });
  it('a non-loopback control address without a token', async () => {
    expectExit2(await runToExit(['start', '--upstream', 'http://127.0.0.1:1', '--listen', '127.0.0.1:0', '--control-listen', '0.0.0.0:0']), /needs CORDON_CONTROL_TOKEN/);
  });
});

describe('cordon check-config', () => {
  it('accepts a good file', async () => {
    const p = file('good.yaml', 'upstreams:\n  - url: https://api.openai.com\n    weight: 2\nbalance: least_outstanding\nmemory_limit: 512MB\nstorage:\n  retention: 7d\n');
    const r = await runToExit(['check-config', p]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('ok');
  });
  it('reports every error as path: message', async () => {
    const p = file('bad2.yaml', 'upstreams: []\nmax_body: -3\nstorage:\n  retention: forever\n');
    const r = await runToExit(['check-config', p]);
    expectExit2(r, /upstreams: at least one upstream/, /max_body: /, /storage\.retention: not a duration/);
  });
  it('an unreadable file', async () => expectExit2(await runToExit(['check-config', `${dir}/missing.yaml`]), /missing\.yaml: cannot read \(ENOENT\)/));
});

describe('help and version', () => {
  it('--help exits 0', async () => {
    const r = await runToExit(['start', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--upstream');
  });
});

describe('cordon demo', () => {
  it('runs the mock, the gateway and the dashboard, and prints a curl that works', async () => {
    const { runCli, waitForLog } = await import('../helpers/procs.js');
    const p = runCli(['demo', '--listen', '127.0.0.1:0', '--control-listen', '127.0.0.1:0', '--no-traffic']);
    procs.push(p);
    const line = await waitForLog(p, 'demo listening');
    const proxy = `http://${String(line.proxy)}`;
    const r = await fetch(`${proxy}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-session-id': 'demo-1' }, body: JSON.stringify({ model: 'mock-gpt', messages: [{ role: 'user', content: 'hello' }] }) });
    expect(r.status).toBe(200);
    const page = await fetch(`http://${String(line.control)}/`);
    expect(page.status).toBe(200);
    expect(p.logs.some((l) => typeof l.text === 'string' && l.text.includes('curl -s'))).toBe(true);
  });
});
