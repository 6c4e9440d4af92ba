// Plain-text formatting for the ops commands: aligned tables, sizes and ages.
import type { SessionView } from '../sessions/types.js';

/** The shapes of SPEC.md's control answers that the ops commands read. */
export interface StatsView {
  sessions: { active: number; total: number; killed: number };
  requests: { total: number; blocked: number };
  memory: { rss_bytes: number; heap_used_bytes: number; bytes_per_session: number; pressure: string };
}

export interface MemoryView {
  limit_bytes: number;
  rss_bytes: number;
  pressure: string;
  components: Record<string, { bytes: number; count?: number }>;
}

export interface SessionsPage {
  sessions: SessionView[];
  next_cursor?: string | null;
}

export interface Column<T> {
  title: string;
  value: (row: T) => string;
  align?: 'left' | 'right';
  /** longest a cell may be before it is cut with … */
  max?: number;
}

function cut(s: string, max: number | undefined): string {
  return max !== undefined && s.length > max ? `${s.slice(0, Math.max(1, max - 1))}…` : s;
}

/** Columns separated by two spaces, numbers right-aligned; no trailing spaces. */
export function table<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((r) => columns.map((c) => cut(c.value(r), c.max)));
  const widths = columns.map((c, i) => Math.max(c.title.length, ...cells.map((row) => row[i].length)));
  const fmt = (row: string[]) => row.map((s, i) => (columns[i].align === 'right' ? s.padStart(widths[i]) : s.padEnd(widths[i]))).join('  ').trimEnd();
  return [fmt(columns.map((c) => c.title)), ...cells.map(fmt)].join('\n');
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function bytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '-';
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(v >= 100 ? 0 : 1)} ${UNITS[u]}`;
}

/** "4s", "3m", "2h", "5d" since an ISO time; "-" when absent or unparseable. */
export function age(iso: string | undefined, now: number): string {
  const t = iso ? Date.parse(iso) : NaN;
  if (!Number.isFinite(t)) return '-';
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

export function sessionColumns(now: number): Column<SessionView>[] {
  return [
    { title: 'ID', value: (s) => s.id, max: 40 },
    { title: 'STATE', value: (s) => s.state },
    { title: 'UPSTREAM', value: (s) => s.upstream ?? '-', max: 32 },
    { title: 'CLIENT', value: (s) => s.client_ip ?? '-' },
    { title: 'REQS', value: (s) => String(s.requests), align: 'right' },
    { title: 'IN', value: (s) => bytes(s.bytes_in), align: 'right' },
    { title: 'OUT', value: (s) => bytes(s.bytes_out), align: 'right' },
    { title: 'FLAGS', value: (s) => String(s.flags), align: 'right' },
    { title: 'AGENT', value: (s) => s.agent ?? '-', max: 24 },
    { title: 'TOKENS', value: (s) => (s.tokens_in === undefined ? '-' : `${s.tokens_in + (s.tokens_out ?? 0)}${s.tokens_estimated ? '~' : ''}`), align: 'right' },
    { title: 'COST', value: (s) => usd(s.cost_usd), align: 'right' },
    { title: 'AGE', value: (s) => age(s.started_at, now), align: 'right' },
    { title: 'SEEN', value: (s) => age(s.last_seen_at, now), align: 'right' },
  ];
}

export function statsText(stats: StatsView, memory: MemoryView | undefined): string {
  const lines = [
    `sessions  active ${stats.sessions.active}  total ${stats.sessions.total}  killed ${stats.sessions.killed}`,
    `requests  total ${stats.requests.total}  blocked ${stats.requests.blocked}`,
    `memory    rss ${bytes(stats.memory.rss_bytes)}  heap ${bytes(stats.memory.heap_used_bytes)}  per session ${bytes(stats.memory.bytes_per_session)}  pressure ${stats.memory.pressure}`,
  ];
  if (memory) {
    lines.push(`limit     ${bytes(memory.limit_bytes)} (${pct(memory.rss_bytes, memory.limit_bytes)} used)`, '', memoryTable(memory));
  }
  return lines.join('\n');
}

function pct(a: number, b: number): string {
  return b > 0 ? `${((a / b) * 100).toFixed(0)}%` : '-';
}

export function memoryTable(memory: MemoryView): string {
  const rows = Object.entries(memory.components).sort((a, b) => b[1].bytes - a[1].bytes);
  return table(rows, [
    { title: 'COMPONENT', value: ([k]) => k },
    { title: 'BYTES', value: ([, c]) => bytes(c.bytes), align: 'right' },
    { title: 'COUNT', value: ([, c]) => (c.count === undefined ? '' : String(c.count)), align: 'right' },
    { title: 'SHARE', value: ([, c]) => pct(c.bytes, memory.rss_bytes), align: 'right' },
  ]);
}

/** USD as an operator reads it: cents above a dollar, three significant digits below. */
export function usd(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '-';
  if (n === 0) return '$0';
  return n >= 1 ? `$${n.toFixed(2)}` : `$${n.toPrecision(3)}`;
}
