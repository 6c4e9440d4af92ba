// The preset rules, written for this project. Each pattern is RE2 syntax with a literal atom the
// prefilter can find. Request language (injection, jailbreak, extraction...) is scored by
// ../detect instead; these are the rules that stand on their own: secrets, tool calls, PII.
import type { PolicyRule } from '../compile.js';

const rule = (r: Omit<PolicyRule, 'target' | 'severity' | 'action'> & Partial<PolicyRule>): PolicyRule => ({
  target: 'both', severity: 'medium', action: 'flag', ...r,
});

// ---- secrets (minimal and up): high confidence. `redact`: an answer goes on with the secret
// replaced by [REDACTED:<rule>]; a request carrying one is refused (as by block); strict blocks both.
// No trailing \b: a pattern ending in \b must see the next character before it can match, so the
// chunk that completes a secret would reach the client before the match is known.
export const SECRETS: PolicyRule[] = [
  rule({ name: 'secret.aws-access-key', severity: 'critical', action: 'redact', redact: true,
    patterns: ['\\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}'] }),
  rule({ name: 'secret.aws-secret-key', severity: 'critical', action: 'redact', redact: true,
    patterns: ['(?i)aws_?secret_?access_?key["\'\\s:=]{1,5}[A-Za-z0-9/+]{40}'] }),
  rule({ name: 'secret.private-key', severity: 'critical', action: 'redact', redact: true,
    // the block up to its END line when it is there: a redaction of the BEGIN line alone left the key
    patterns: ['-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----(?:[A-Za-z0-9+/=\\s:,.()-]*?-----END (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----)?'] }),
  rule({ name: 'secret.openai-key', severity: 'critical', action: 'redact', redact: true,
    patterns: ['\\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{32,}'] }),
  rule({ name: 'secret.anthropic-key', severity: 'critical', action: 'redact', redact: true,
    patterns: ['\\bsk-ant-(?:api|admin)\\d\\d-[A-Za-z0-9_-]{40,}'] }),
  rule({ name: 'secret.github-token', severity: 'critical', action: 'redact', redact: true,
    patterns: ['\\bgh[pousr]_[A-Za-z0-9]{36}', '\\bgithub_pat_[A-Za-z0-9_]{60,}'] }),
  rule({ name: 'secret.slack-token', severity: 'critical', action: 'redact', redact: true,
    patterns: ['\\bxox[abposr]-[A-Za-z0-9-]{10,}'] }),
  rule({ name: 'secret.google-api-key', severity: 'high', action: 'redact', redact: true,
    patterns: ['\\bAIza[0-9A-Za-z_-]{35}'] }),
  rule({ name: 'secret.stripe-key', severity: 'critical', action: 'redact', redact: true,
    patterns: ['\\b(?:sk|rk)_live_[0-9A-Za-z]{24,}'] }),
];

// ---- exfiltration in answers --------------------------------------------------------------------
// Request language is scored by ../detect (signals.ts); what stays here matches answers.
export const EXFIL: PolicyRule[] = [
  rule({ name: 'exfil.markdown-image', severity: 'high', action: 'terminate', target: 'response',
    patterns: ['!\\[[^\\]\\n]{0,100}\\]\\(https?://[^)\\s]{1,200}\\?[^)\\s]{0,200}=[^)\\s]{8,}'] }),
];

// ---- dangerous tool calls ----------------------------------------------------------------------
export const TOOLS: PolicyRule[] = [
  rule({ name: 'tool.shell-destructive', severity: 'critical', action: 'block', target: 'tool_call',
    patterns: ['\\brm\\s+-(?:[a-zA-Z]*r[a-zA-Z]*f|[a-zA-Z]*f[a-zA-Z]*r)[a-zA-Z]*\\s+(?:--no-preserve-root\\s+)?(?:/|~/?|\\*|\\$HOME/?|/\\*)(?:\\s|$|"|\\\\|;|\\))',
      '\\bmkfs(?:\\.[a-z0-9]+)?\\s+/dev/', '\\bdd\\s+if=[^\\s]+\\s+of=/dev/(?:sd|nvme|hd|xvd)',
      ':\\(\\)\\s*\\{\\s*:\\s*\\|\\s*:\\s*&\\s*\\}\\s*;\\s*:', '(?i)\\bchmod\\s+(?:-R\\s+)?0?777\\s+/'] }),
  rule({ name: 'tool.shell-remote-exec', severity: 'critical', action: 'block', target: 'tool_call',
    patterns: ['(?i)\\b(?:curl|wget)\\b[^|;\\n]{0,200}\\|\\s*(?:sudo\\s+)?(?:ba|z|da)?sh\\b',
      '(?i)\\b(?:nc|ncat|netcat)\\s+(?:-[a-z]*e\\s+/bin/(?:ba)?sh|.{0,60}\\s-e\\s+/bin/)',
      '(?i)/dev/tcp/\\d{1,3}\\.\\d{1,3}'] }),
  rule({ name: 'tool.sql-destructive', severity: 'high', action: 'block', target: 'tool_call',
    patterns: ['(?i)\\bdrop\\s+(?:table|database|schema)\\b', '(?i)\\btruncate\\s+table\\b',
      '(?i)\\bdelete\\s+from\\s+[A-Za-z_."`\\[\\]]+\\s*(?:;|"|$)', '(?i);\\s*shutdown\\b'] }),
  rule({ name: 'tool.sensitive-files', severity: 'high', action: 'block', target: 'tool_call',
    patterns: ['/etc/(?:shadow|sudoers|gshadow)\\b', '(?i)(?:~|\\$HOME|/root|/home/[A-Za-z0-9_.-]+)/\\.ssh/(?:id_|authorized_keys)',
      '(?i)(?:~|\\$HOME|/root|/home/[A-Za-z0-9_.-]+)/\\.aws/credentials', '(?:\\.\\./){3,}'] }),
];

// ---- PII ----------------------------------------------------------------------------------------
export const PII: PolicyRule[] = [
  // No literal atom: this one runs in the RE2.Set, and the Luhn check keeps digit runs out.
  rule({ name: 'pii.card-number', severity: 'high', action: 'flag', target: 'response', validate: 'luhn', redact: true,
    patterns: ['\\b(?:\\d[ -]?){12,18}\\d\\b'] }),
];

// ---- strict only: broader phrasing, more false positives accepted ---------------------------
export const STRICT_EXTRA: PolicyRule[] = [
  rule({ name: 'pii.us-ssn', severity: 'medium', action: 'flag', target: 'response', redact: true,
    patterns: ['\\b(?:SSN|social security)[^0-9\\n]{0,20}\\d{3}-\\d{2}-\\d{4}\\b'] }),
  rule({ name: 'secret.generic-assignment', severity: 'medium', action: 'flag', target: 'response', redact: true,
    patterns: ['(?i)\\b(?:api_?key|secret_?key|access_?token|password)\\s*[:=]\\s*["\']?[A-Za-z0-9/+_\\-]{16,}'] }),
  rule({ name: 'limit.requests-per-minute', target: 'request', severity: 'medium', action: 'block', metric: 'requests', limit: 120, window: 60_000 }),
  rule({ name: 'limit.tool-calls-per-session', target: 'tool_call', severity: 'medium', action: 'terminate', metric: 'tool_calls', limit: 500 }),
];
