// TLS termination for the proxy listener (see options.ts).
export { buildTlsServerOptions, SniContexts, normalizeServername, type TlsConfig, type TlsSetup, type SniStats } from './options.js';
export { TlsConfigError, loadCertPair, certWarnings, type CertPair } from './certs.js';
export { Lru } from './lru.js';
export { guardTlsAccept, HANDSHAKE_TIMEOUT_MS, type AcceptGuard, type AcceptGuardOptions } from './guard.js';
