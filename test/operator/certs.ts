// Test helper: self-signed certificates made with the system openssl in a temp dir.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export function makeCert(dir: string, name: string, cn: string, sans: string[] = [cn], days = 2): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', String(days), '-subj', `/CN=${cn}`,
    '-addext', `subjectAltName=${sans.map((s) => `DNS:${s}`).join(',')}`,
  ], { stdio: 'ignore' });
  return { cert, key };
}
