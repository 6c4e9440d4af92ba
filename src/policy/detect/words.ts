// The vocabulary the signals are written in: word classes of the attack taxonomies (override verbs,
// what they target, disclosure verbs, limits, harms, sensitive data, destinations), shared by the
// signal families so each class is spelled once.
import type { PolicyRule } from '../compile.js';

/** a gap of a few words inside one sentence */
export const GAP = "[^.!?\\n]{0,48}?";
export const W = (words: string) => `(?:${words})`;

export const OVERRIDE_VERB = W('eclipse|supersede|outweigh|outrank|trump|take\\s+precedence\\s+over|ignore|ignoring|disregard|forget|overrid(?:e|ing)|overrule|bypass|skip|abandon|dismiss|discard|neglect|overlook|set\\s+aside|put\\s+aside|cast\\s+aside|throw\\s+out|scrap|erase|wipe|disengage\\s+from|abort|cancel|suspend|deactivate|disable|turn\\s+off|stop\\s+following|(?:no\\s+longer|don\'t|do\\s+not|never)\\s+(?:follow|obey|adhere\\s+to|comply\\s+with)|drop');
export const PRIOR = W('previous|prior|above|earlier|preceding|initial|original|former|old|existing|past|system|safety|developer|default|given|current|other|all|any|every|your|these|those|the');
export const INSTR = W('instructions?|prompts?|rules|directions|directives?|guidelines|guardrails|commands|constraints|programming|protocols?|tasks?|orders|polic(?:y|ies)|restrictions|limitations|safeguards|filters|training|conditioning|context|messages|requests?|assignments?|objectives?|goals?|mission|settings|configuration');
export const AI = W('ai|assistant|model|llm|agent|bot|chatbot|language\\s+model|gpt|chatgpt|claude|copilot|gemini|system');
export const REVEAL = W('respond\\s+with|reply\\s+with|quote|reveal|print|show|display|output|repeat|leak|dump|expose|disclose|tell|give|share|recite|list|write\\s+(?:out|down)|spell|provide|return|echo|paste|copy|summari[sz]e|describe|state|explain|divulge|confess|translate');
export const SYSPROMPT = W('system\\s+(?:prompts?|messages?|instructions?)|(?:your\\s+|the\\s+)?(?:initials?|original|hidden|secret|internal|first|exact|full|complete|underlying|base)\\s+(?:prompts?|instructions?|directives?|rules|messages?|guardrails|priorities|goals|parameters|objectives)|pre-?prompt|meta-?prompt|initiali[sz]ation|instructions\\s+(?:you\\s+were|you\'ve\\s+been|you\\s+have\\s+been|that\\s+were)\\s+given|your\\s+(?:instructions|rules|guidelines|directives|configuration|programming|prompts?|guardrails|constraints|objectives|goals|parameters|training\\s+data|hidden\\s+\\w+|internal\\s+\\w+)');
export const LIMITS = W('restrictions?|limits|limitations|filters?|rules|guidelines|constraints|censorship|boundaries|ethics|morals|morality|ethical\\s+guidelines|moral\\s+guidelines|safeguards|guardrails|polic(?:y|ies)');
export const HARM = W('bombs?|explosives?|malware|ransomware|virus(?:es)?|keylogger|botnet|ddos|weapons?|poison(?:ing)?|meth(?:amphetamine)?|cocaine|heroin|drugs|hack(?:ing)?\\s+into|steal(?:ing)?|counterfeit|launder(?:ing)?|suicide|self-harm|murder|kill(?:ing)?\\s+(?:a|someone|people|him|her|them)|terroris[mt]|phishing|exploit|bioweapons?|nerve\\s+agent|firearms?|fraud|identity\\s+theft|illegal(?:ly)?|smuggl\\w*|extremis[mt]|hate\\s+speech|racist|manipulat\\w+|harass\\w*|stalk\\w*|porn\\w*|explicit|violent|violence');

export const SENSITIVE = W('conversation|chat\\s+(?:history|log|transcript)|transcripts?|user\\s+data|credentials|secrets|api\\s+keys?|passwords?|access\\s+tokens?|session\\s+(?:cookies|tokens)|cookies|environment\\s+variables|env\\s+vars|\\.env|ssh\\s+keys?|private\\s+keys?|personal\\s+(?:data|information|details)|pii|credit\\s+card(?:\\s+numbers?)?|social\\s+security|ssn|medical\\s+records?|customer\\s+(?:data|records|list|database)|employee\\s+(?:directory|records|data)|database\\s+(?:dump|contents)|ledger|billing\\s+address(?:es)?|home\\s+address(?:es)?|(?:real\\s+)?names?|emails?|contacts|files|documents|records');
export const DEST = W('https?://|www\\.|[\\w.+-]+@[\\w-]+\\.|(?:the\\s+|an?\\s+|this\\s+|my\\s+)?(?:external|remote|offshore|personal|private|unauthori[sz]ed|third-party|attacker|outside)\\b|(?:this|the\\s+following|my)\\s+(?:url|address|endpoint|server|webhook|link|domain)');

/** Case-insensitive unless `exactCase` (names like DAN that are ordinary words in lower case). */
export const rule = (name: string, weight: number, patterns: string[], exactCase = false): PolicyRule =>
  ({ name, weight, patterns: exactCase ? patterns : patterns.map((p) => `(?i)${p}`), target: 'request', severity: 'high', action: 'block' });

