// Raw bytes over a socket, for tests of what the gateway answers to malformed HTTP.
import { connect } from 'node:net';

/** Sends raw bytes and returns everything the server answers until it closes (or 5s pass). */
export function raw(url: string, bytes: string): Promise<string> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = connect(Number(u.port), u.hostname);
    let out = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => { out += d; });
    s.on('error', () => resolve(out));
    s.on('close', () => resolve(out));
    s.setTimeout(5000, () => { s.destroy(); resolve(out); });
    s.write(bytes);
  });
}

export const statusOf = (resp: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(resp)?.[1] ?? 0);
