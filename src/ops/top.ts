// `cordon top`: a live terminal view of the gateway, redrawn every interval from the control API.
// It switches to the terminal's alternate screen and raw input, and always puts both back on the
// way out (q, Ctrl-C, SIGTERM, or an error such as a refused token).
import { ControlClient, OpsError } from './client.js';
import { bytes, memoryTable, sessionColumns, table, type MemoryView, type SessionsPage, type StatsView } from './format.js';

export interface TopTerminal {
  input: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  output: NodeJS.WritableStream & { isTTY?: boolean; columns?: number; rows?: number };
}

export interface TopOptions {
  intervalMs: number;
  /** stop after this many frames (tests); default: until the user quits */
  maxFrames?: number;
  /** process signals that quit; default SIGINT and SIGTERM */
  signals?: NodeJS.Signals[];
}

const ESC = '\x1b[';
export const ENTER_SCREEN = `${ESC}?1049h${ESC}?25l`;
export const LEAVE_SCREEN = `${ESC}?25h${ESC}?1049l`;
const HOME_CLEAR = `${ESC}H${ESC}2J`;

interface Snapshot {
  stats?: StatsView;
  memory?: MemoryView;
  sessions?: SessionsPage;
  error?: string;
}

async function snapshot(client: ControlClient, rows: number): Promise<Snapshot> {
  const [stats, memory, sessions] = await Promise.allSettled([
    client.get<StatsView>('/control/stats'),
    client.get<MemoryView>('/control/memory'),
    client.get<SessionsPage>(`/control/sessions?limit=${rows}`),
  ]);
  const failed = [stats, memory, sessions].find((r): r is PromiseRejectedResult => r.status === 'rejected');
  // a refused token will not fix itself: leave top and say so; anything else is shown and retried
  if (failed && failed.reason instanceof OpsError && failed.reason.code === 'unauthorized') throw failed.reason;
  return {
    stats: stats.status === 'fulfilled' ? stats.value : undefined,
    memory: memory.status === 'fulfilled' ? memory.value : undefined,
    sessions: sessions.status === 'fulfilled' ? sessions.value : undefined,
    error: failed ? String((failed.reason as Error)?.message ?? failed.reason) : undefined,
  };
}

export function renderTop(s: Snapshot, width: number, now: number, base: string): string {
  const lines: string[] = [];
  const clock = new Date(now).toISOString().slice(11, 19);
  lines.push(`cordon top  ${base}  ${clock}  (q quits)`);
  if (s.stats) {
    const st = s.stats;
    lines.push(`sessions ${st.sessions.active} active / ${st.sessions.total} total / ${st.sessions.killed} killed   requests ${st.requests.total} (${st.requests.blocked} blocked)`);
  }
  if (s.memory) {
    const m = s.memory;
    const ratio = m.limit_bytes > 0 ? m.rss_bytes / m.limit_bytes : 0;
    const barW = Math.max(10, Math.min(40, width - 50));
    const fill = Math.min(barW, Math.round(ratio * barW));
    lines.push(`memory   [${'#'.repeat(fill)}${'.'.repeat(barW - fill)}] ${bytes(m.rss_bytes)} / ${bytes(m.limit_bytes)}  pressure ${m.pressure.toUpperCase()}`);
    lines.push('', memoryTable(m));
  }
  if (s.sessions) {
    const list = [...s.sessions.sessions].sort((a, b) => Date.parse(b.last_seen_at) - Date.parse(a.last_seen_at));
    lines.push('', list.length === 0 ? 'no sessions' : table(list, sessionColumns(now)));
  }
  if (s.error) lines.push('', `! ${s.error}`);
  // cut lines to the width so the terminal never wraps and scrolls the view
  return lines.join('\n').split('\n').map((l) => (l.length > width ? l.slice(0, width) : l)).join('\n');
}

/** Runs until q / Ctrl-C / a signal (exit 0) or a refused token (OpsError, after restoring). */
export async function runTop(client: ControlClient, term: TopTerminal, opts: TopOptions): Promise<number> {
  const { input, output } = term;
  const tty = output.isTTY === true;
  const raw = input.isTTY === true && typeof input.setRawMode === 'function';
  let stop!: () => void;
  const stopped = new Promise<void>((r) => (stop = r));
  let quit = false;
  const onKey = (chunk: Buffer | string) => {
    const s = chunk.toString();
    if (s.includes('q') || s.includes('Q') || s.includes('\x03')) {
      quit = true;
      stop();
    }
  };
  const onSignal = () => {
    quit = true;
    stop();
  };
  const signals = opts.signals ?? ['SIGINT', 'SIGTERM'];
  if (tty) output.write(ENTER_SCREEN);
  if (raw) input.setRawMode!(true);
  input.on('data', onKey);
  input.resume();
  for (const sig of signals) process.on(sig, onSignal);
  let timer: NodeJS.Timeout | undefined;
  try {
    let frames = 0;
    while (!quit) {
      const rows = Math.max(5, (output.rows ?? 40) - 16);
      const snap = await snapshot(client, rows);
      if (quit) break;
      const frame = renderTop(snap, output.columns ?? 120, Date.now(), client.base.origin);
      output.write(tty ? HOME_CLEAR + frame.replace(/\n/g, '\r\n') : `${frame}\n\n`);
      if (opts.maxFrames !== undefined && ++frames >= opts.maxFrames) break;
      await Promise.race([stopped, new Promise<void>((r) => (timer = setTimeout(r, opts.intervalMs)))]);
      clearTimeout(timer);
    }
    return 0;
  } finally {
    clearTimeout(timer);
    for (const sig of signals) process.off(sig, onSignal);
    input.off('data', onKey);
    if (raw) input.setRawMode!(false);
    input.pause();
    if (tty) output.write(LEAVE_SCREEN);
  }
}
