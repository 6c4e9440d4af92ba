// Parsing of human-written sizes ("10MB", "512KiB") and durations ("10s", "7d").
// Both return null on nonsense so that the schema can report `path: message` instead of throwing.

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  k: 1024, kb: 1024, kib: 1024,
  m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2,
  g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3,
};

/** "10MB" → 10485760. Units are binary (MB = MiB), as operators of memory limits expect. */
export function parseSize(input: string | number): number | null {
  if (typeof input === 'number') return Number.isFinite(input) && input >= 0 ? Math.floor(input) : null;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(input);
  if (!m) return null;
  const unit = m[2].toLowerCase() || 'b';
  const mult = SIZE_UNITS[unit];
  if (mult === undefined) return null;
  const n = Number(m[1]) * mult;
  return Number.isFinite(n) ? Math.floor(n) : null;
}

const DURATION_UNITS: Record<string, number> = {
  ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000,
};

/** "10s" → 10000 (milliseconds). A bare number is taken as milliseconds. */
export function parseDuration(input: string | number): number | null {
  if (typeof input === 'number') return Number.isFinite(input) && input >= 0 ? Math.floor(input) : null;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$/.exec(input);
  if (!m) return null;
  const n = Number(m[1]) * DURATION_UNITS[m[2] ?? 'ms'];
  return Number.isFinite(n) ? Math.floor(n) : null;
}

export interface HostPort { host: string; port: number }

/** "127.0.0.1:8080", "[::1]:0", ":8080" → host and port. Port 0 means "pick a free one". */
export function parseHostPort(input: string): HostPort | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]*)):(\d{1,5})$/.exec(input.trim());
  if (!m) return null;
  const port = Number(m[3]);
  if (port > 65535) return null;
  const host = m[1] ?? (m[2] || '0.0.0.0');
  return { host, port };
}

export function formatHostPort(hp: HostPort): string {
  return hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}

export function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)}GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)}MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)}KiB`;
  return `${n}B`;
}
