// Preset tool rules. Tool descriptions are written for the model, and the "tool poisoning" class
// (Invariant Labs, "MCP Security Notification: Tool Poisoning Attacks", 2025; OWASP LLM01 indirect
// prompt injection, LLM07/LLM08 on plugins and agency) hides orders to the model in them. The rules
// describe the signs of that class rather than known samples:
//   - directive markup that a human reader of a UI would not see: <IMPORTANT>, <system>, ...
//   - concealment from the user ("do not tell the user", "without informing them")
//   - reading secrets or configuration: SSH/cloud/API keys, dotfiles, an agent's own MCP config
//   - reaching into other tools: redirecting recipients, "when the X tool is used, also ..."
//   - ordering steps before the tool may run ("before using this tool, first read ...")
// A tool's description that only explains what the tool does trips none of them.
import type { Preset, RuleConfig } from '../config/schema.js';

type Act = RuleConfig['action'];

function desc(name: string, severity: RuleConfig['severity'], action: Act, patterns: string[], description: string): RuleConfig {
  return { name, target: 'tool_description', patterns, severity, action, description };
}

/** Words for "the model" and "the user" as injected text addresses them. */
const MODEL = '(?:you|the (?:ai|assistant|model|llm|agent)|assistant|claude|chatgpt|gpt)';
const USER = '(?:the )?(?:user|human|operator|person|customer|anyone|them)';
const TELL = '(?:tell|inform|notify|mention|reveal|disclose|show|alert|explain to|let)';
const SECRET_FILES = [
  '~?/?\\.ssh\\b', '\\bid_(?:rsa|dsa|ecdsa|ed25519)\\b', '\\bauthorized_keys\\b', '\\.aws/(?:credentials|config)',
  '\\.kube/config', '\\.docker/config\\.json', '\\.gnupg\\b', '\\.netrc\\b', '\\.npmrc\\b', '\\.pypirc\\b',
  '\\.git-credentials\\b', '/etc/(?:passwd|shadow|sudoers)\\b', '\\bmcp\\.json\\b', '\\.cursor/', '\\bclaude_desktop_config\\b',
  '\\.config/gcloud\\b', '\\bwallet\\.dat\\b', '\\.bash_history\\b', '\\bkeychain\\b',
].join('|');
const READ = '(?:read|open|cat|load|fetch|get|retrieve|collect|copy|grab|access|include|attach|upload|send|pass|append|extract)';
const SENSITIVE = '(?:private[ _-]?keys?|ssh[ _-]?keys?|api[ _-]?keys?|access[ _-]?tokens?|secret[ _-]?keys?|credentials|passwords?|session cookies|seed phrase|env(?:ironment)? variables)';

const hiddenMarkup = (a: Act) => desc('tool-hidden-directive', 'high', a, [
  `(?i)<\\s*(?:important|system|sys|instructions?|hidden|secret|admin|override|critical|note to (?:ai|assistant|model)|ai[_ -]?instructions?|assistant[_ -]?only)\\s*>`,
  `(?i)\\[\\s*(?:system|hidden|ai|assistant)[ _-]?(?:instructions?|note|message|prompt)?\\s*\\]\\s*[:\\-]?\\s*\\w`,
  `(?i)\\{\\{\\s*(?:system|instructions?|important)\\s*\\}\\}`,
], 'markup that hides a directive to the model inside a tool description');

const concealment = (a: Act) => desc('tool-conceal-from-user', 'high', a, [
  `(?i)\\b(?:do not|don'?t|never|must not|should not|shouldn'?t|avoid|without)\\s+(?:ever\\s+)?(?:${TELL}(?:ing)?)\\s+(?:this\\s+(?:to\\s+)?)?${USER}\\b`,
  `(?i)\\b(?:without|before)\\s+(?:the\\s+)?(?:user|human)(?:'s)?\\s+(?:knowing|knowledge|noticing|consent|seeing|being (?:told|informed|aware))`,
  `(?i)\\b(?:keep|hide)\\s+(?:this|these|it|that|the (?:step|instruction|request)s?)\\s+(?:hidden|secret|confidential|private)?\\s*from\\s+${USER}`,
  `(?i)\\b${USER}\\s+(?:must|should|need|will|does|do)\\s*(?:not|n'?t)\\s+(?:know|see|notice|be (?:told|informed|aware))`,
  `(?i)\\b(?:silently|quietly|secretly|covertly)\\s+(?:${READ}|call|invoke|run|execute|forward|add|change|replace)\\b`,
  `(?i)\\b(?:do not|don'?t|never)\\s+(?:mention|say|reveal|disclose)\\s+(?:that|this|these|the fact|anything about)`,
], 'an instruction to keep something from the user');

const secretReads = (a: Act) => desc('tool-reads-secrets', 'critical', a, [
  `(?i)\\b${READ}\\b[^.\\n]{0,80}(?:${SECRET_FILES})`,
  `(?i)(?:${SECRET_FILES})[^.\\n]{0,80}\\b(?:as|into|in|to)\\s+(?:the\\s+)?(?:'|"|\`)?\\w+(?:'|"|\`)?\\s+(?:parameter|argument|field|param|variable)`,
  `(?i)\\b${READ}\\b[^.\\n]{0,60}\\b(?:the user'?s?|their|all|any|every)\\s+(?:${SENSITIVE})`,
  `(?i)\\b(?:${SENSITIVE})\\b[^.\\n]{0,60}\\b(?:as|into|in)\\s+(?:the\\s+)?(?:'|"|\`)?\\w+(?:'|"|\`)?\\s+(?:parameter|argument|field|param)`,
], 'a tool description that asks for secrets or configuration files');

const crossTool = (a: Act) => desc('tool-shadows-other-tools', 'high', a, [
  `(?i)\\bwhen(?:ever)?\\s+(?:${MODEL}\\s+)?(?:use|uses|using|call|calls|calling|invoke|invokes|invoking)\\s+(?:the\\s+|any\\s+)?(?:other\\s+)?(?:\`?[\\w.-]+\`?\\s+)?tools?\\b[^.\\n]{0,80}\\b(?:also|always|must|instead|first|additionally)\\b`,
  `(?i)\\b(?:all|every|any)\\s+(?:e-?mails?|messages?|payments?|transfers?|requests?|results?|outputs?)\\s+(?:must|should|need to|are to)\\s+(?:also\\s+)?(?:be\\s+)?(?:sent|forwarded|copied|cc'?d|bcc'?d|redirected|routed)\\s+to\\b`,
  `(?i)\\b(?:change|replace|redirect|override|swap)\\s+(?:the\\s+)?(?:recipient|destination|target|to[- ]address|email address|account number|iban|wallet address)`,
  `(?i)\\b(?:instead of|rather than)\\s+(?:using\\s+)?(?:the\\s+)?\`?[\\w.-]+\`?\\s+tool\\b`,
  `(?i)\\b(?:output|result|content|response)s?\\s+of\\s+(?:the\\s+)?(?:other|previous|another)\\s+tools?\\b[^.\\n]{0,60}\\b(?:send|pass|include|append|forward)`,
], 'a tool description that directs how other tools are used');

const modelOrders = (a: Act) => desc('tool-orders-the-model', 'medium', a, [
  `(?i)\\b(?:before|prior to)\\s+(?:using|calling|invoking|running)\\s+(?:this|the|any)\\s+(?:\\w+\\s+)?tool,?\\s+(?:${MODEL}\\s+)?(?:must|should|need to|have to|first|always)\\b`,
  `(?i)\\b(?:ignore|disregard|forget|override)\\s+(?:all\\s+|any\\s+)?(?:the\\s+)?(?:previous|prior|earlier|above|other|system|user'?s?)\\s+(?:instructions|rules|directions|guidelines|prompts?|tools)`,
  `(?i)\\b(?:otherwise|or else)\\s+(?:the\\s+)?(?:tool|this|it|the (?:system|app|application))\\s+(?:will\\s+)?(?:not|won'?t|fails?|breaks?|crash)`,
  `(?i)\\b(?:this|these)\\s+(?:instructions?|rules?)\\s+(?:take|takes|have|has)\\s+(?:precedence|priority)\\b`,
  `(?i)\\b${MODEL}\\s+(?:must|should|are required to|need to|have to)\\s+(?:always\\s+|first\\s+|also\\s+)?(?:call|invoke|run|execute|send|pass|include|read|forward)\\s+(?:the\\s+)?(?:\\w+\\s+)?(?:tool|file|contents?|this)\\b[^.\\n]{0,80}\\b(?:first|before|every time|also|as well|too)\\b`,
], 'instructions to the model placed in a tool description');

const loop = (a: Act): RuleConfig => ({
  name: 'repeated-tool-call', target: 'tool_call', metric: 'repeated_tool_call', limit: 5, window: 60_000,
  severity: 'medium', action: a, description: 'the same tool with the same arguments 5 times in a minute: an agent stuck in a loop',
});

export function toolPresetRules(preset: Preset): RuleConfig[] {
  switch (preset) {
    case 'off': return [];
    case 'minimal': return [hiddenMarkup('flag'), secretReads('flag'), loop('flag')];
    case 'standard': return [hiddenMarkup('block'), concealment('block'), secretReads('block'), crossTool('flag'), modelOrders('flag'), loop('flag')];
    case 'strict': return [hiddenMarkup('block'), concealment('block'), secretReads('block'), crossTool('block'), modelOrders('block'), loop('flag')];
  }
}
