// TLS termination for the proxy listener (see options.ts).
export { buildTlsServerOptions, SniContexts, normalizeServername, type TlsConfig, type TlsSetup, type SniStats } from './options.js';
export { TlsConfigError, loadCertPair, certWarnings, type CertPair } from './certs.js';
export { Lru } from './lru.js';
