// Reading and checking certificate/key pairs at start-up, so that a bad file is reported by name
// before anything listens (the CLI prints the message and exits 2).
import { readFileSync } from 'node:fs';
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';

/** A TLS setting that cannot be used. `path` is the config path, `file` the file at fault. */
export class TlsConfigError extends Error {
  readonly code = 'tls_config';
  constructor(readonly path: string, readonly file: string, message: string) {
    super(`${path}: ${message}`);
    this.name = 'TlsConfigError';
  }
}

export interface CertPair {
  /** PEM as read: the certificate file may hold the chain after the leaf */
  cert: Buffer;
  key: Buffer;
  x509: X509Certificate;
  certFile: string;
  keyFile: string;
}

function readPem(path: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (code ?? 'unreadable');
    throw new TlsConfigError(path, file, `cannot read ${file} (${why})`);
  }
}

/**
 * Reads a certificate and its key and checks that they belong together
 * (X509Certificate.checkPrivateKey). `at` is the config path of the pair, e.g. `tls` or `tls.sni[1]`.
 */
export function loadCertPair(at: string, certFile: string, keyFile: string): CertPair {
  const cert = readPem(`${at}.cert`, certFile);
  const key = readPem(`${at}.key`, keyFile);
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch {
    throw new TlsConfigError(`${at}.cert`, certFile, `${certFile} is not a PEM or DER certificate`);
  }
  let keyObj: KeyObject;
  try {
    keyObj = createPrivateKey(key);
  } catch {
    // an encrypted key lands here too: cordon takes no passphrase, so it must be unencrypted
    throw new TlsConfigError(`${at}.key`, keyFile, `${keyFile} is not an unencrypted PEM private key`);
  }
  let matches = false;
  try {
    matches = x509.checkPrivateKey(keyObj);
  } catch {
    matches = false;
  }
  if (!matches) {
    throw new TlsConfigError(`${at}.key`, keyFile, `${keyFile} does not match the certificate ${certFile}`);
  }
  return { cert, key, x509, certFile, keyFile };
}

/** Problems worth a log line that do not stop the start: an expired certificate, a name it does not cover. */
export function certWarnings(at: string, pair: CertPair, servername?: string, now = Date.now()): string[] {
  const out: string[] = [];
  const notAfter = Date.parse(pair.x509.validTo);
  if (Number.isFinite(notAfter) && notAfter < now) out.push(`${at}.cert: ${pair.certFile} expired on ${pair.x509.validTo}`);
  const notBefore = Date.parse(pair.x509.validFrom);
  if (Number.isFinite(notBefore) && notBefore > now) out.push(`${at}.cert: ${pair.certFile} is not valid before ${pair.x509.validFrom}`);
  if (servername) {
    // for a wildcard entry, ask whether a name under it is covered
    const probe = servername.startsWith('*.') ? `cordon-probe${servername.slice(1)}` : servername;
    if (pair.x509.checkHost(probe) === undefined) {
      out.push(`${at}.servername: ${servername} is not covered by the certificate ${pair.certFile}`);
    }
  }
  return out;
}
