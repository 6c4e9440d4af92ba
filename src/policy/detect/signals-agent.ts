// Signals of attacks on an agent's data and tools rather than on its instructions, after OWASP LLM02
// (sensitive information disclosure), LLM06 (excessive agency), LLM07 (system prompt leakage) and
// MITRE ATLAS AML.T0056 (meta prompt extraction), AML.T0057 (data leakage), AML.T0053 (plugin
// compromise): asking the model about its own configuration, reaching for data of other parties or
// in raw, unredacted form, pretexts that claim authority or prior approval, and tool calls whose
// effect is destructive. Weights are weak on purpose: a request is refused when they add up.
import type { PolicyRule } from '../compile.js';
import { GAP, rule, W } from './words.js';

/** what a model is configured with: asking for these is meta prompt extraction */
const CONFIG = W('goals?|objectives?|metrics|parameters|targets|priorities|decision\\s+(?:tree|logic|criteria|process)|filter(?:ing)?\\s+(?:system|rules|list|logic)|(?:banned|blocked|forbidden|restricted)\\s+(?:keywords|words|topics|terms)|keywords|hierarchy|roles?|style\\s+guide|policy\\s+text|(?:refusal|moderation|safety)\\s+(?:\\w+\\s+)?(?:rules|policy|policies|guide|logic|criteria|tree|thresholds?)|configuration|config|settings|internal\\s+(?:memory|state|notes|rules|logic)|guardrails|constraints|programming|instructions|guidelines|directives|incentives|reward\\s+function|agenda');
const ASK = W('reveal|show|display|list|print|output|dump|disclose|expose|share|tell\\s+me|give\\s+me|provide|describe|explain|quote|recite|detail|enumerate|state|spell\\s+out|walk\\s+me\\s+through|what\\s+(?:are|is|were)');
/** qualifiers that ask for what is normally withheld */
const WITHHELD = W('hidden|secret|internal|private|undisclosed|confidential|unredacted|unfiltered|unanonymi[sz]ed|de-?anonymi[sz]ed|non-?anonymi[sz]ed|unmasked|restricted|classified|unreleased|proprietary');
const DATA = W('data|files?|records?|logs?|transcripts?|history|results|keys?|credentials|tickets|documents?|schemas?|database|tables|configurations?|statistics|numbers|metadata|archives?|directory\\s+tree|folders?|contents|details|information|emails?|messages|conversations?|profiles?|addresses|portfolios?|allocations|assessments|notes|reports|projections|financials|salar(?:y|ies)|ledgers?');
const PARTY = W('other|another|different|all|every|each|previous|prior|someone\\s+else\'?s?|third-party');
const PEOPLE = W('users?|customers?|clients?|tenants?|patients?|accounts?|employees?|members?|students?|sessions?|conversations?|people|individuals|vendors?|partners?');
const TOOL = W('tool|api|endpoint|function|plugin|service|agent|integration|webhook|command|script|connector|backend');

export const AGENT_SIGNALS: PolicyRule[] = [
  // ---- system prompt and configuration leakage (LLM07, AML.T0056) ----------------------------
  rule('extraction.self-config', 3, [
    `\\b${ASK}\\b${GAP}\\byour\\s+(?:\\w+\\s+){0,3}?${CONFIG}\\b`,
    `\\b(?:what|which)\\s+(?:\\w+\\s+){0,4}?(?:are|were)\\s+you\\s+(?:\\w+\\s+)?(?:optimi[sz]ing|programmed|configured|instructed|trained|told|designed|set\\s+up|built|prompted|incentivi[sz]ed|rewarded)\\b`,
    `\\b(?:how|when|why)\\s+(?:do\\s+)?you\\s+(?:decide|determine|choose|judge|classify|flag|filter|refuse|moderate)\\b`,
    `\\b(?:as\\s+it\\s+appears|verbatim|word\\s+for\\s+word|exactly)\\b${GAP}\\b(?:your|the)\\s+(?:\\w+\\s+)?(?:memory|instructions|prompt|context|configuration|rules|training)\\b`,
    `\\b(?:text|rules?|document|section|policy|wording)\\s+that\\s+(?:defines?|governs?|describes?|controls?|sets?)\\s+(?:your|the\\s+model's|the\\s+assistant's)\\b`,
  ]),
  // the model's or agent's own secrets ("your API key", "the token in your env"): not the user's
  rule('extraction.own-secret', 2, [
    `\\b${ASK}\\b${GAP}\\b(?:your|the\\s+(?:model's|assistant's|agent's|bot's|server's|system's))\\s+(?:(?:private|secret|master|signing|encryption|kms|ssl|tls|root|openai|aws|github|stripe|auth|access|session|admin|[a-z]+_[a-z_]+)\\s+){0,3}?(?:api\\s+keys?|keys?|tokens?|passwords?|passphrases?|credentials|certificates?|secrets?)\\b`,
    `\\b(?:keys?|tokens?|passwords?|credentials|certificates?|secrets?)\\s+(?:that\\s+)?(?:you(?:'re|\\s+are)\\s+using|you\\s+use|you\\s+have|set\\s+in\\s+your|stored\\s+in\\s+your|in\\s+your\\s+(?:env|environment|config|configuration|settings|memory|context))\\b`,
  ]),
  rule('extraction.withheld', 2, [
    `\\b${ASK}\\b${GAP}\\b(?:${WITHHELD}|hidden|real|true|actual|exact|underlying|full|complete)\\s+(?:\\w+\\s+){0,2}?(?:${CONFIG}|prompts?|tokens?|certificates?|secrets?|passwords?)\\b`,
  ]),
  // ---- data leakage (LLM02, AML.T0057): other parties' data, raw data, cross-session memory ----
  rule('exfil.data-grab', 3, [
    `\\b(?:retrieve|dump|export|extract|download|pull|fetch|output|display|list|show|print|read|reveal|give|send|access|share|provide|copy|scrape|harvest|collect|compile|see|review|view)\\b${GAP}\\b${WITHHELD}\\s+(?:\\w+\\s+){0,3}?${DATA}\\b`,
  ]),
  rule('exfil.other-parties', 3, [
    `\\b${PARTY}\\s+(?:\\w+\\s+){0,2}?${PEOPLE}(?:'s?)?\\s+(?:\\w+\\s+){0,2}?${DATA}\\b`,
    `\\b${DATA}\\s+(?:\\w+\\s+){0,3}?(?:of|for|from|by|about|belonging\\s+to|associated\\s+with)\\s+(?:the\\s+)?(?:${PARTY}\\s+)?(?:\\w+\\s+)?${PEOPLE}\\s+(?:who|that|with|in|id|number|named|account)\\b`,
    `\\b(?:the\\s+)?(?:user|customer|client|patient|person|employee|account\\s+holder)\\s+who\\s+(?:\\w+\\s+){0,2}?(?:reported|purchased|bought|called|wrote|submitted|booked|visited|ordered|complained|logged|signed|opened|filed|asked)\\b`,
    `\\b(?:customer|user|client|patient|account|tenant|employee|member)\\s+(?:id|account|number|#)\\s*[:#]?\\s*['"]?[\\w-]*\\d`,
    `\\b(?:in|from|during)\\s+(?:your|the|my|our)\\s+(?:previous|prior|earlier|last|other)\\s+(?:sessions?|conversations?|chats?)\\b`,
  ]),
  // ---- pretexts: authority, prior approval, trust by association (Schulhoff et al.; deepteam) --
  rule('injection.fake-approval', 3, [
    `\\b(?:pre-?authori[sz]ed|pre-?approved|already\\s+(?:been\\s+)?(?:approved|authori[sz]ed|verified|cleared|vetted)|has\\s+(?:been\\s+)?(?:verified|approved|authori[sz]ed|cleared|vetted)\\s+(?:this|the|by)|(?:execution|admin|elevated|explicit)\\s+approval|formally\\s+(?:documented|approved)|accepted\\s+baseline|(?:granted|given)\\s+(?:\\w+[\\s-]){0,2}?(?:access|privileges?|permissions?|clearance)\\s+by\\s+default)\\b`,
    `\\b(?:no|without)\\s+(?:further\\s+|additional\\s+|more\\s+)?(?:ethical\\s+|security\\s+|human\\s+)?(?:review|validation|verification|approval|checks?|oversight)\\s+(?:is\\s+|are\\s+)?(?:required|needed|necessary)\\b`,
    `\\b(?:assume|trust|consider)\\s+(?:that\\s+)?(?:this|the|that)\\s+(?:\\w+\\s+)?(?:${TOOL}|request|user|source|input)\\s+(?:is\\s+)?(?:authori[sz]ed|trusted|safe|verified|legitimate|approved)\\b|\\b(?:so|therefore)\\s+it\\s+(?:must|should)\\s+be\\s+(?:safe|trusted|legitimate)\\b|\\bstill\\s+trusted\\b|\\bgo\\s+ahead\\s+and\\s+(?:rely|trust|use|execute|run)\\b`,
    `\\b(?:has|have|carries|holds)\\s+(?:higher|highest|top|greater|overriding)\\s+priority\\b|\\btakes?\\s+precedence\\b|\\b(?:relayed|forwarded|message)\\s+from\\s+(?:the\\s+)?\\w*(?:agent|coordinator|orchestrator|supervisor|admin)\\w*\\b`,
  ]),
  rule('injection.system-notice', 3, [
    `(?:^|[\\n.!]\\s*|\\(|\\[)(?:system|configuration|config|security|admin|administrator|policy|internal\\s+policy|compliance|developer|operator|platform|orchestrator|tool|agent)\\s+(?:response|notification|update|notice|annotation|excerpt|alert|message|override|directive|memo|broadcast|instruction|note|command)\\s*[:\\-]`,
  ]),
  // ---- excessive agency (LLM06, AML.T0053): tools asked to do what no reviewer would allow ----
  rule('tool.destructive-call', 3, [
    `\\b(?:call|use|invoke|trigger|run|hit|query|ask)\\s+(?:the\\s+|a\\s+|this\\s+)?(?:\\w+[\\s-]){0,4}?${TOOL}s?\\b${GAP}\\b(?:to|and)\\s+(?:\\w+\\s+)?(?:override|overwrite|remove|delete|terminate|destroy|wipe|drop|purge|disable|revoke|erase|reset|bypass|lift|set\\s+\\w+(?:\\s+\\w+){0,4}?\\s+to\\s+(?:zero|0|\\$?0)|generate\\s+(?:a\\s+)?public|expose|publish|transfer|grant|escalate|elevate|unlock|shut\\s+down)\\b`,
    `\\b(?:terminate|delete|drop|wipe|destroy|purge|shut\\s+down)\\s+(?:all\\s+|the\\s+)?(?:\\w+\\s+){0,2}?(?:production|prod|live|primary)\\b`,
    `\\b(?:public|non-?expiring|permanent|unauthenticated|anonymous)\\s+(?:\\w+\\s+)?(?:download\\s+)?(?:links?|urls?|access)\\b${GAP}\\b(?:unreleased|confidential|internal|private|sensitive|restricted)\\b`,
    `\\b(?:remove|lift|disable|raise|bypass)\\s+(?:the\\s+)?(?:rate[\\s-]?limit(?:ing|s)?|quotas?|spending\\s+limits?|usage\\s+caps?)\\b`,
  ]),
  rule('tool.exec-untrusted', 3, [
    `\\b(?:use|call|run|apply|pass)\\s+(?:\\w+\\s+){0,2}?(?:exec|eval|system|shell)\\b${GAP}\\b(?:on|to|with)\\b|\\b(?:evaluate|execute|run|eval)\\s+(?:this\\s+|the\\s+)?(?:user-?(?:provided|supplied|submitted)|untrusted|arbitrary|external|remote|downloaded)\\b`,
  ]),
];
