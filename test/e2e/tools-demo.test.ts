// The demo's pretend agent whose destructive tool call waits for approval, decided with the CLI:
// `cordon approvals`, `cordon approve ID`, and the CLI's answers to bad and unknown IDs.
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, runToExit, waitForLog, type Proc } from '../helpers/procs.js';

const procs: Proc[] = [];
afterAll(async () => { for (const p of procs) await p.stop(); });

describe('demo: a destructive tool call waits for approval', () => {
  it('agent-ops is held; the CLI lists and approves it', async () => {
    const p = runCli(['demo', '--listen', '127.0.0.1:0', '--control-listen', '127.0.0.1:0']);
    procs.push(p);
    const line = await waitForLog(p, 'demo listening');
    const control = `http://${String(line.control)}`;
    let held: { id: string; tool: string; arguments_excerpt: string } | undefined;
    for (let i = 0; i < 100 && !held; i++) {
      const r = (await (await fetch(`${control}/control/approvals`)).json()) as { approvals: Array<{ id: string; session_id: string; tool: string; arguments_excerpt: string }> };
      held = r.approvals.find((a) => a.session_id === 'agent-ops');
      if (!held) await new Promise((res) => setTimeout(res, 100));
    }
    expect(held).toMatchObject({ tool: 'shell' });
    expect(held!.arguments_excerpt).toContain('rm -rf');

    const list = await runToExit(['approvals', '--url', control]);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(held!.id);
    expect(list.stdout).toContain('rm -rf');
    const ok = await runToExit(['approve', held!.id, '--url', control]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('approved');
    const again = await runToExit(['deny', held!.id, '--url', control]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already decided');
    expect((await runToExit(['approve', 'ap_doesnotexist', '--url', control])).code).toBe(1);
    const bad = await runToExit(['approve', 'not an id', '--url', control]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('not an approval ID');
  }, 30_000);
});
