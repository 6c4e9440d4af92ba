// SIGTERM during a stream: stop accepting, let the stream finish, exit 0.
import { describe, expect, it } from 'vitest';
import { startGateway, startMockLlm } from '../helpers/procs.js';

describe('graceful shutdown', () => {
  it('finishes an in-flight stream, refuses new work, exits 0', async () => {
    const mock = await startMockLlm();
    const gw = await startGateway(['--upstream', mock.url, '--policy', 'off', '--drain-timeout', '5s']);
    try {
      const res = await fetch(`${gw.proxy}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-mock-deltas': '10', 'x-mock-delay-ms': '100' },
        body: JSON.stringify({ model: 'm', stream: true, messages: [] }),
      });
      const reader = res.body!.getReader();
      await reader.read();
      gw.child.kill('SIGTERM');
      let text = '';
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += Buffer.from(value).toString();
      }
      expect(text).toContain('data: [DONE]');
      expect(await gw.exited).toBe(0);
      // The listener is gone: new connections are refused.
      await expect(fetch(`${gw.proxy}/v1/models`)).rejects.toThrow();
    } finally {
      await gw.stop('SIGKILL');
      await mock.stop();
    }
  });

  it('cuts streams still running at the drain timeout and still exits 0', async () => {
    const mock = await startMockLlm();
    const gw = await startGateway(['--upstream', mock.url, '--policy', 'off', '--drain-timeout', '300ms']);
    try {
      const res = await fetch(`${gw.proxy}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-mock-deltas': '100', 'x-mock-delay-ms': '100' },
        body: JSON.stringify({ model: 'm', stream: true, messages: [] }),
      });
      const reader = res.body!.getReader();
      await reader.read();
      const t0 = Date.now();
      gw.child.kill('SIGTERM');
      expect(await gw.exited).toBe(0);
      expect(Date.now() - t0).toBeLessThan(3000);
      await reader.read().catch(() => undefined);
    } finally {
      await gw.stop('SIGKILL');
      await mock.stop();
    }
  });
});

describe('client disconnect', () => {
  it('aborts the upstream request', async () => {
    const mock = await startMockLlm();
    const gw = await startGateway(['--upstream', mock.url, '--policy', 'off']);
    try {
      const ac = new AbortController();
      const res = await fetch(`${gw.proxy}/v1/chat/completions`, {
        method: 'POST', signal: ac.signal,
        headers: { 'content-type': 'application/json', 'x-mock-deltas': '200', 'x-mock-delay-ms': '50' },
        body: JSON.stringify({ model: 'm', stream: true, messages: [] }),
      });
      await res.body!.getReader().read();
      const before = await fetch(`${mock.url}/mock/stats`).then((r) => r.json()) as { active_streams: number };
      expect(before.active_streams).toBe(1);
      ac.abort();
      let after = 1;
      for (let i = 0; i < 40 && after !== 0; i++) {
        await new Promise((r) => setTimeout(r, 50));
        after = (await fetch(`${mock.url}/mock/stats`).then((r) => r.json()) as { active_streams: number }).active_streams;
      }
      expect(after).toBe(0);
    } finally {
      await gw.stop('SIGKILL');
      await mock.stop();
    }
  });
});
