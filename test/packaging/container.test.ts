// The Dockerfile and docker-compose.yml, checked as far as a machine without a Docker engine (and
// without hadolint: no Debian or npm package provides it) allows: their instructions parsed and the
// essentials asserted, the sources they copy present, and the HEALTHCHECK command run for real
// against a gateway.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startGateway, startMockLlm, type Proc } from '../helpers/procs.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

interface Instruction { op: string; args: string; line: number }

/** Dockerfile instructions: comments dropped, `\` continuations joined. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let l = lines[i];
    if (/^\s*(#|$)/.test(l)) continue;
    while (l.endsWith('\\') && i + 1 < lines.length) {
      i++;
      if (/^\s*#/.test(lines[i])) continue;
      l = l.slice(0, -1) + ' ' + lines[i].trim();
    }
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(l);
    expect(m, `line ${start + 1} is not an instruction: ${l}`).not.toBeNull();
    out.push({ op: m![1].toUpperCase(), args: m![2].trim(), line: start + 1 });
  }
  return out;
}

const KNOWN = new Set(['FROM', 'RUN', 'CMD', 'LABEL', 'EXPOSE', 'ENV', 'ADD', 'COPY', 'ENTRYPOINT', 'VOLUME', 'USER', 'WORKDIR', 'ARG', 'ONBUILD', 'STOPSIGNAL', 'HEALTHCHECK', 'SHELL']);

describe('Dockerfile', () => {
  const ins = parseDockerfile(readFileSync(`${root}Dockerfile`, 'utf8'));
  const froms = ins.map((x, i) => ({ ...x, i })).filter((x) => x.op === 'FROM');
  const stage = (n: number) => ins.slice(froms[n].i, froms[n + 1]?.i ?? ins.length);

  it('uses known instructions only, in two stages on a slim Node 20 base', () => {
    for (const x of ins) expect(KNOWN.has(x.op), `line ${x.line}: ${x.op}`).toBe(true);
    expect(froms).toHaveLength(2);
    for (const f of froms) expect(f.args).toMatch(/^node:20[\w.-]*-slim\b/);
    expect(froms[0].args).toMatch(/ AS build$/i);
  });

  it('builds the native modules from source in the build stage', () => {
    const build = stage(0);
    const text = build.map((x) => `${x.op} ${x.args}`).join('\n');
    expect(text).toMatch(/apt-get install[^\n]*python3[^\n]*make[^\n]*g\+\+/);
    expect(text).toContain('RE2_DOWNLOAD_SKIP_PATH=1');
    expect(text).toContain('npm_config_build_from_source=true');
    expect(text).toMatch(/RUN npm ci\b/);
    // every build-context source it copies exists (and is not excluded by .dockerignore)
    const ignored = readFileSync(`${root}.dockerignore`, 'utf8').split('\n').filter(Boolean);
    for (const c of build.filter((x) => x.op === 'COPY')) {
      const parts = c.args.split(/\s+/).filter((p) => !p.startsWith('--'));
      for (const src of parts.slice(0, -1)) {
        expect(existsSync(`${root}${src}`), `COPY ${src}`).toBe(true);
        expect(ignored).not.toContain(src);
      }
    }
    expect(ignored).toContain('node_modules');
  });

  it('runs as a non-root user with a health check on /healthz, taking only built files', () => {
    const run = stage(1);
    const users = run.filter((x) => x.op === 'USER');
    expect(users.length).toBeGreaterThan(0);
    expect(users[users.length - 1].args).not.toMatch(/^(root|0)(:|$)/);
    for (const c of run.filter((x) => x.op === 'COPY')) expect(c.args).toMatch(/--from=build\b/);
    const hc = run.find((x) => x.op === 'HEALTHCHECK');
    expect(hc?.args).toContain('/healthz');
    expect(run.find((x) => x.op === 'ENTRYPOINT')?.args).toBe('["node", "dist/cli.js"]');
    expect(run.find((x) => x.op === 'CMD')?.args).toBe('["start"]');
    expect(run.find((x) => x.op === 'STOPSIGNAL')?.args).toBe('SIGTERM');
  });

  describe('the HEALTHCHECK command', () => {
    const procs: Proc[] = [];
    let control = '';
    beforeAll(async () => {
      const mock = await startMockLlm(); procs.push(mock);
      const gw = await startGateway(['--upstream', mock.url, '--policy', 'off']); procs.push(gw);
      control = gw.control.replace('http://', '');
    });
    afterAll(async () => { await Promise.all(procs.map((p) => p.stop('SIGKILL'))); });

    const command = (): string[] => {
      const hc = ins.find((x) => x.op === 'HEALTHCHECK')!.args;
      return JSON.parse(hc.slice(hc.indexOf('CMD ') + 4)) as string[];
    };

    it('exits 0 against a serving gateway and 1 when nothing answers', () => {
      const [cmd, ...args] = command();
      expect(cmd).toBe('node');
      const ok = spawnSync(process.execPath, args, { env: { ...process.env, CORDON_CONTROL_LISTEN: control }, timeout: 10_000 });
      expect(ok.status).toBe(0);
      const wildcard = spawnSync(process.execPath, args, { env: { ...process.env, CORDON_CONTROL_LISTEN: control.replace('127.0.0.1', '0.0.0.0') }, timeout: 10_000 });
      expect(wildcard.status).toBe(0);
      const down = spawnSync(process.execPath, args, { env: { ...process.env, CORDON_CONTROL_LISTEN: '127.0.0.1:1' }, timeout: 10_000 });
      expect(down.status).toBe(1);
    });
  });
});

describe('docker-compose.yml', () => {
  const doc = parse(readFileSync(`${root}docker-compose.yml`, 'utf8'), { merge: true }) as {
    services: Record<string, { image?: string; build?: string; environment?: Record<string, string>; depends_on?: Record<string, { condition: string }>; healthcheck?: { test?: string[] }; ports?: string[]; command?: string[] }>;
  };

  it('runs two gateways sharing a healthy Redis (fleet mode)', () => {
    const s = doc.services;
    expect(s.redis.healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
    const gateways = Object.entries(s).filter(([, v]) => v.environment?.CORDON_REDIS !== undefined);
    expect(gateways.map(([k]) => k).sort()).toEqual(['cordon-a', 'cordon-b']);
    for (const [, g] of gateways) {
      expect(g.environment!.CORDON_REDIS).toBe('redis://redis:6379');
      expect(g.depends_on?.redis.condition).toBe('service_healthy');
      expect(g.build).toBe('.');
      expect(g.environment!.CORDON_CONTROL_TOKEN).toMatch(/^\$\{CORDON_CONTROL_TOKEN:\?/);
      // the control API is published on loopback only
      expect(g.ports!.find((p) => p.endsWith(':9090'))).toMatch(/^127\.0\.0\.1:/);
    }
    expect(new Set(gateways.map(([, g]) => g.ports![0].split(':')[0])).size).toBe(2);
    expect(s.mock.command).toEqual(['mock-llm', '--listen', '0.0.0.0:8081']);
  });
});
