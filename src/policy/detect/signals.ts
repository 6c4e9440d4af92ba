// Weak signals of the attack classes, scored as OWASP CRS scores requests: each signal found adds
// its weight once, and a request whose sum reaches the preset's threshold is refused under the name
// of the signal that weighed most. They describe techniques, not sentences, after the public
// taxonomies: OWASP LLM01 (direct and indirect prompt injection), MITRE ATLAS AML.T0051 (prompt
// injection), AML.T0054 (jailbreak), AML.T0056 (meta prompt extraction), AML.T0057 (data leakage),
// AML.T0053 (plugin compromise), Wei et al. 2023 "Jailbroken" (prefix injection, refusal
// suppression, style injection, encodings) and Schulhoff et al. 2023 "Ignore This Title" (context
// ignoring, role play, virtualization, payload splitting, obfuscation). They read the normalized
// view, so look-alike letters, l33t and spacing do not hide a word.
import type { PolicyRule } from '../compile.js';
import { AGENT_SIGNALS } from './signals-agent.js';
import { AI, DEST, GAP, HARM, INSTR, LIMITS, OVERRIDE_VERB, PRIOR, REVEAL, rule, SENSITIVE, SYSPROMPT, W } from './words.js';

/** what instructions are called, and what is said of them when new ones are slipped in */
const TALK_N = W('instructions|directions|directives|guidance|prescriptions|commands|orders|mandates?');
const TALK_Q = W('brand-new|latest|fresh|updated|revised|ensuing|upcoming|forthcoming|subsequent|overriding|supersed\\w*|paramount|utmost|pivotal|gravity|surfaced|just\\s+(?:arrived|landed|come\\s+in|been\\s+(?:issued|reported|released))');

export const SIGNALS: PolicyRule[] = [
  ...AGENT_SIGNALS,
  // ---- context ignoring / instruction override (OWASP LLM01 direct, ATLAS AML.T0051.000) ------
  rule('injection.ignore-instructions', 6, [
    `\\b${OVERRIDE_VERB}\\s+${GAP}\\b${PRIOR}\\s+(?:\\S+\\s+){0,2}?${INSTR}\\b`,
    `\\b${OVERRIDE_VERB}\\s+(?:all\\s+|any\\s+|of\\s+)?(?:the\\s+)?(?:everything|anything|all)\\s+(?:else|above|before|previous|prior|you\\s+(?:were|have\\s+been)\\s+(?:told|given|taught))`,
    `\\b${OVERRIDE_VERB}\\s+(?:all\\s+of\\s+)?(?:the\\s+|that\\s+|this\\s+)?(?:above|preceding|foregoing)\\b`,
    `\\b(?:other|previous|prior|earlier|preceding|existing|old|original|former|remaining)\\s+(?:and\\s+\\w+\\s+)?${INSTR}\\s+(?:are|is|should\\s+be|must\\s+be|have\\s+been|has\\s+been)\\s+(?:now\\s+)?(?:void|null|irrelevant|obsolete|cancel+ed|revoked|overridden|superseded|invalid|deprecated|suspended|disabled|lifted|removed|secondary|ignored|paused|on\\s+hold|no\\s+longer)`,
    `\\b(?:consider|treat|regard|deem|count|make|render)\\s+(?:all\\s+|any\\s+|every\\s*)?(?:else|the\\s+rest|others|other\\s+\\w+|previous\\s+\\w+|prior\\s+\\w+|everything(?:\\s+else)?|thing\\s+else|that|this)\\s+(?:as\\s+)?(?:irrelevant|void|null|obsolete|cancel+ed|moot|secondary|unimportant|invalid|background\\s+noise|noise|static|beta)`,
    `\\b${OVERRIDE_VERB}\\s+(?:all\\s+)?(?:the\\s+rest|all\\s+others|everything\\s+else)\\b`,
  ]),
  rule('injection.new-task', 3, [
    `\\b(?:your|the|my)\\s+(?:new|real|true|actual|updated|revised|only|sole|singular|primary|main|one\\s+and\\s+only|final)\\s+(?:instructions?|task|goal|mission|objective|purpose|directive|job|priority|focus|assignment|orders|rules|prompt)\\s+(?:is|are|will\\s+be|now|:)`,
    `\\b(?:new|updated|revised|override|overriding|priority|admin|system|urgent|important|secret|hidden)\\s+(?:instructions?|directives?|commands?|orders|task|rules|agenda)\\s*(?::|;|follow|below|(?:to|for)\\s+(?:the\\s+)?(?:\\w+\\s+)?${AI})`,
    `\\bthis\\s+is\\s+(?:now\\s+)?(?:the|your)\\s+(?:only|one|sole|single|singular|real|true|new|primary|top|highest|main)\\s+(?:\\w+\\s+)?(?:task|instruction|thing|priority|directive|mission|objective|goal|focus|command|request)`,
    `\\b(?:instead|rather)\\s*,?\\s+(?:you\\s+(?:should|must|will|are\\s+to)|your\\s+(?:task|job|goal)|do\\s+(?:the\\s+)?following|(?:just\\s+)?(?:say|print|output|write|tell|respond|answer|reply))`,
    `\\b(?:lock|focus|concentrate|zero)\\s+(?:in\\s+)?(?:on|onto)\\s+(?:this|the\\s+following|the\\s+next)\\s+(?:one|single|singular|only|new|sole)?\\s*(?:task|instruction|request|directive|command|question|thing)`,
    `\\b(?:stop|halt|pause|cease|end|terminate|finish)\\s+(?:what\\s+you\\s+are\\s+doing|(?:your|the|all|any)\\s+(?:current|previous|other|original|ongoing)\\s+${INSTR})`,
  ]),
  // goal hijacking by layering (deepteam goal redirection): a core mission, then numbered sub-goals
  rule('injection.goal-layering', 2, [
    `(?:(?:^|[.:\\n]\\s*)(?:phase|cycle|round|stage|layer|tier|sub-?(?:mission|goal|task|objective|purpose)|auxiliary\\s+\\w+|supporting\\s+\\w+|subsidiary\\s+\\w+)\\s+(?:\\d+|[a-d])\\s*:[^\\n]{0,300}?){3}`,
    `(?:^|[.\\n]\\s*)(?:core|primary|main|overarching)\\s+(?:mission|purpose|responsibility|duty|objective|directive)\\s*:`,
  ]),
  rule('injection.override-others', 3, [
    `\\b(?:all|any|every)\\s+(?:the\\s+)?(?:others|other\\s+(?:tasks|instructions|commands|directives|requests|orders|rules|guidance)|(?:prior|previous|preceding|earlier|former)\\s+(?:tasks|instructions|commands|directives|requests|orders|rules|guidance|guidelines|prompts|messages))\\b`,
    `\\b(?:new|latest|updated|fresh|brand-new|revised)\\s+(?:\\w+\\s+){0,3}?(?:instructions|guidance|directives|orders|prescriptions|agenda|commands|task|mission)\\s+(?:has|have)\\s+(?:just\\s+)?(?:been\\s+)?(?:arrived|surfaced|reported|come\\s+in|issued|emerged|landed|released)`,
    `\\b(?:important|urgent|critical|system|priority|security)\\s+(?:update|notice|alert|override|message)\\s*[!:]`,
  ]),
  rule('injection.sole-focus', 3, [
    `\\b(?:the|your|this)\\s+(?:only|sole|single|exclusive|one|alpha)\\s+(?:\\w+\\s+)?(?:command|instruction|task|directive|mandate|focus|mission|concern|imperative|order)\\b`,
    `\\b(?:your|the)\\s+(?:primary|top|main|new|exclusive|sole)\\s+(?:focus|concern|priority|mandate|imperative|agenda)\\b`,
  ]),
  rule('injection.attention-grab', 2, [
    `\\b(?:utmost|paramount|supreme|highest|critical|high|top|grave|gravely)\\s+(?:importance|priority|urgency|stakes)\\b|\\bheed\\b|\\bpay\\s+(?:close\\s+)?attention\\b|\\b(?:attention|news\\s+flash|heads\\s+up|breaking|signal|alert)\\s*[!:+]|\\b(?:draw|turn|direct|shift)\\s+your\\s+(?:focus|attention)\\b|\\b(?:focus|attention)\\s+is\\s+(?:paramount|crucial|essential|required|key)\\b`,
  ]),
  // text that talks about instructions themselves: which ones count, which come next, which are new
  rule('injection.instruction-talk', 2, [
    `\\b(?:instructions|directions|directives|commands|guidance|orders|prescriptions)\\s+(?:that\\s+follow|below|ahead|to\\s+come|(?:has|have)\\s+(?:just\\s+)?(?:been\\s+)?(?:arrived|surfaced|reported|come\\s+in|issued|emerged|landed|released|changed|updated))\\b|\\b(?:ensuing|following|upcoming|next|forthcoming|subsequent)\\s+(?:\\w+\\s+)?(?:instructions|directions|directives|commands|guidance|orders)\\b`,
    // the same idea in any word order: instructions said to be new, next, prior, or to matter most
    `\\b${TALK_Q}\\b[^.!?\\n]{0,60}?\\b${TALK_N}\\b|\\b${TALK_N}\\b[^.!?\\n]{0,60}?\\b${TALK_Q}\\b`,
    `\\b(?:this|that)\\s+is\\s+the\\s+(?:one|only\\s+one|instruction|directive)\\s+(?:to|you\\s+(?:must|should))\\s+(?:follow|obey|heed)\\b|\\b(?:gravity|weight|importance)\\s+of\\s+(?:the|these|this)\\s+(?:instructions?|directions?|directives?|orders?)\\b`,
  ]),
  // asking for elevated rights: with a claim of authority, the shape of privilege escalation
  rule('injection.privilege-ask', 2, [
    `\\b(?:elevated|admin|administrator|administrative|root|superuser|sudo|maintenance|debug|diagnostic|god)[\\s-]+(?:level\\s+)?(?:access|privileges?|permissions?|rights|clearance|override|console|shell|panel|diagnostics|mode|interface)\\b`,
  ]),
  rule('injection.from-now-on', 2, [
    `\\b(?:from\\s+now\\s+on|from\\s+this\\s+(?:point|moment)\\s+(?:on|forward)|henceforth|for\\s+the\\s+rest\\s+of\\s+(?:this|the)\\s+(?:conversation|chat|session))\\b`,
  ]),
  rule('injection.fake-delimiter', 5, [
    `<\\|?(?:im_start|system|start_header_id)\\|?>\\s*(?:system|developer)|\\[/?(?:system|sys|admin)\\]|<</?sys>>|\\{\\{?\\s*system\\s*\\}\\}?`,
    `<\\s*/?\\s*(?:important|system|instructions?|admin|secret|hidden|override|priority|sudo)\\s*>`,
    `[\\[<#=*%~|-]\\s*(?:end|start|begin)\\s+(?:of\\s+)?(?:\\w+\\s+){0,3}?(?:instructions|input|prompt|reprogramming|context|output|system)\\s*[\\]>#=*%~|-]|\\b(?:begin|end)\\s+reprogramming\\b`,
    `\\b(?:end|beginning)\\s+of\\s+(?:the\\s+)?(?:input|prompt|user\\s+input|system\\s+prompt|instructions|conversation|context)\\b`,
    `(?:^|\\n)\\s*#{2,}\\s*(?:system|instructions?|new\\s+instructions?|admin|override|assistant|developer)\\b`,
    `(?:^|\\n)\\s*(?:system|assistant|developer|admin)\\s*(?:message|prompt|note|override)?\\s*:\\s*(?:you|ignore|new|from|the\\s+user|disregard|override)`,
  ]),
  // chat-template tokens in user text: how injected turns are forged, and how prompt guides show formats
  rule('injection.chat-template', 3, [
    `<\\|?(?:im_start|im_end|system|endoftext|eot_id|start_header_id|end_header_id|begin_of_text)\\|?>|\\[/?inst\\]`,
  ]),
  rule('injection.authority-claim', 2, [
    `\\b(?:i\\s+am|i'm|this\\s+is|speaking\\s+as|acting\\s+as|on\\s+behalf\\s+of)\\s+(?:the\\s+|your\\s+|an?\\s+)?(?:\\w+\\s+){0,2}?(?:admin|administrator|developer|creator|owner|supervisor|manager|director|lead|head\\s+of\\s+\\w+|ceo|cto|ciso|internal\\s+\\w+\\s+agent|security\\s+(?:team|officer|auditor)|compliance\\s+(?:bot|officer|team|department)|auditor|it\\s+department|sysadmin|system\\s+administrator|operator|openai|anthropic|engineer|management|maintainer|root)\\b`,
    `\\b(?:i'm|i\\s+am|we're|we\\s+are)\\s+(?:\\w+\\s+)?from\\s+(?:the\\s+)?(?:\\w+\\s+)?(?:compliance|security|legal|it|audit|engineering|trust\\s+and\\s+safety|safety|admin|fraud)\\s+(?:department|team|office|division|unit)\\b`,
    `\\b(?:authori[sz]ed|permitted|allowed|cleared|sanctioned|entitled)\\s+to\\s+(?:bypass|skip|ignore|override|disable|access|view|see|reveal|circumvent)`,
    `\\b(?:elevated|admin|administrator|administrative|root|superuser|sudo|maintenance|debug|diagnostic)\\s+(?:access|privileges?|permissions?|rights|clearance|override|console|shell|panel|diagnostics)\\b`,
  ]),
  // ---- meta prompt extraction (ATLAS AML.T0056) -----------------------------------------------
  rule('extraction.system-prompt', 5, [
    `\\b${REVEAL}\\s+${GAP}\\b${SYSPROMPT}\\b`,
    `\\bwhat\\s+(?:are|were|is)\\s+(?:all\\s+)?(?:of\\s+)?${SYSPROMPT}`,
    `\\b(?:repeat|print|output|copy|echo|recite|write)\\s+(?:back\\s+)?(?:all\\s+|every\\s+)?(?:of\\s+)?(?:the\\s+)?(?:words|text|lines|everything|sentences|content|characters|tokens|messages)\\s+(?:above|before|preceding|prior|so\\s+far|you\\s+(?:were|have\\s+been)\\s+given|from\\s+the\\s+(?:start|beginning|top))`,
    `\\b(?:starting|beginning|begin|start)\\s+(?:with|from|at)\\s+["'\\u201c]?you\\s+are\\b`,
    `\\bhow\\s+(?:were|are)\\s+you\\s+(?:configured|programmed|instructed|prompted|set\\s+up)\\b`,
  ]),
  // "never reveal the password" is a defence, not a request: it takes back what the verb added
  rule('benign.negated-disclosure', -3, [
    `\\b(?:never|don't|do\\s+not|must\\s+not|mustn't|not\\s+to|refrain\\s+from|avoid|without|nor)\\s+(?:\\w+\\s+){0,2}?(?:reveal(?:ing)?|shar(?:e|ing)|disclos(?:e|ing)|print(?:ing)?|tell(?:ing)?|giv(?:e|ing)|leak(?:ing)?|expos(?:e|ing)|output(?:ting)?|repeat(?:ing)?|divulg(?:e|ing))\\b`,
  ]),
  rule('extraction.secret', 3, [
    `\\b${REVEAL}\\s+${GAP}\\b(?:the|your|my|a|any|all)\\s+(?:\\w+\\s+)?(?:password|passphrase|secret(?:\\s+key)?|api\\s+(?:integration\\s+)?keys?|access\\s+keys?|credentials|(?:private|master|signing|encryption|kms|ssl|tls|root)\\s+(?:keys?|certificates?)|certificates|tokens?|code\\s*words?|pin)\\b`,
    `\\b(?:password|passphrase|secret\\s+word|code\\s*word)\\b${GAP}\\b(?:backwards|reversed|in\\s+reverse|letter\\s+by\\s+letter|one\\s+(?:letter|character)\\s+at\\s+a\\s+time|spelled|each\\s+letter|with\\s+spaces|in\\s+(?:base64|hex|binary|morse|a\\s+poem|a\\s+riddle|another\\s+language))`,
    `\\b(?:what\\s+(?:is|was)|tell\\s+me)\\s+(?:the|your)\\s+(?:\\w+\\s+)?(?:password|passphrase|secret|code\\s*word)\\b`,
  ]),
  // ---- jailbreak (ATLAS AML.T0054; Wei et al.: competing objectives) -----------------------
  rule('jailbreak.no-limits', 4, [
    `\\b(?:no|without|free\\s+(?:of|from)|zero|devoid\\s+of|unbound\\s+by|not\\s+(?:bound|restricted|limited|constrained|governed)\\s+by|beyond|liberated\\s+from|released\\s+from|broken\\s+free\\s+(?:of|from))\\s+(?:any\\s+|all\\s+|the\\s+)?(?:\\w+\\s+){0,2}?${LIMITS}\\b`,
    `\\b(?:safe|safety|filter|censorship|moderation|ethics|ethical)\\s*(?:mode|filters?|protocols?|guardrails|settings?)?\\s*(?:is\\s+(?:now\\s+)?|:\\s*)?(?:off|disabled|deactivated|removed|bypassed|lifted)\\b`,
    `\\b(?:unrestricted|unfiltered|uncensored|unhinged|unbounded|unconstrained|unchained|unshackled|amoral|immoral|unethical|jailbroken|lawless|no-holds-barred|anything\\s+goes)\\b`,
    `\\b(?:break|breaking|broke|escape|escaping|evade|circumvent|violate|violating|defy|defying|bypass|bypassing|overcome|disable|disabling|remove|removing|lift|lifting|turn\\s+off)\\s+(?:free\\s+(?:of|from)\\s+)?(?:all\\s+|any\\s+|the\\s+|your\\s+|its\\s+|their\\s+)?(?:\\w+\\s+)?(?:filters?|restrictions|rules|guidelines|polic(?:y|ies)|censorship|safeguards|guardrails|confines|limitations|constraints|safety\\s+(?:measures|features|protocols)|content\\s+moderation|programming|alignment)\\b`,
    `\\b(?:openai|anthropic|content|usage|safety)\\s+(?:polic(?:y|ies)|guidelines|rules|filters?)\\b`,
  ]),
  rule('jailbreak.known-persona', 6, [`\\bdo\\s+anything\\s+now\\b|\\bgodmode\\b|\\bpliny\\b`]),
  // "developer mode" is also a phone setting: a mode claim only adds up with other signals
  rule('jailbreak.mode-switch', 3, [
    `\\b(?:developer|dev|god|jailbreak|jailbroken|dan|sudo|evil|chaos|unrestricted|opposite|rebel|dark)\\s*mode\\b`,
  ]),
  // names of published jailbreak personas, upper case as their prompts write them
  rule('jailbreak.dan', 4, ['\\b(?:DAN|STAN|DUDE|AIM|UCAR|AntiGPT|BetterDAN|BasedGPT|DevMode|D\\.A\\.N)\\b'], true),
  rule('jailbreak.refusal-suppression', 4, [
    `\\b(?:never|don't|do\\s+not|must\\s+not|mustn't|cannot|can't|won't|will\\s+not|shall\\s+not|should\\s+not|shouldn't|are\\s+not\\s+allowed\\s+to|aren't\\s+allowed\\s+to|may\\s+not|not\\s+permitted\\s+to|unable\\s+to)\\s+(?:ever\\s+)?(?:refuse|decline|reject|deny|say\\s+no|apologi[sz]e|warn|censor|filter|hold\\s+back|moralize|lecture|add\\s+(?:any\\s+)?(?:warnings?|disclaimers?|caveats?)|include\\s+(?:any\\s+)?["']?(?:warnings?|disclaimers?|caveats?|notes?)|use\\s+the\\s+words?|say\\s+the\\s+words?|say\\s+(?:that\\s+)?(?:you\\s+)?(?:can't|cannot|are\\s+unable))`,
    `\\b(?:no|without|skip\\s+the|omit\\s+(?:all|any|the))\\s+(?:\\w+\\s+)?(?:warnings?|disclaimers?|caveats?|apologies|moralizing|moralising|lectures?|refusals?|ethical\\s+reminders)\\b`,
    `\\b(?:always|must|will)\\s+(?:answer|respond|reply|comply|provide|obey|fulfil+)\\b${GAP}\\b(?:regardless|no\\s+matter|even\\s+if|whatever|any\\s+request|every\\s+request|all\\s+requests|without\\s+(?:question|hesitation|exception))`,
    `\\b(?:even\\s+if|regardless\\s+of\\s+whether|no\\s+matter\\s+(?:if|how|whether))\\s+(?:it(?:'s|\\s+is)?|the\\s+(?:request|question|content)\\s+is)\\s+(?:\\w+\\s+)?(?:illegal|unethical|immoral|harmful|dangerous|offensive|inappropriate|explicit)`,
    `\\bi'?m\\s+sorry\\b${GAP}\\b(?:never|don't|do\\s+not|avoid)|\\bas\\s+an\\s+ai\\s+(?:language\\s+)?model\\b`,
  ]),
  rule('jailbreak.prefix-injection', 4, [
    `\\b(?:start|begin)\\s+(?:with|by\\s+saying)\\s+["'\\u201c]?(?:sure|absolutely|of\\s+course|certainly|yes|here)\\b`,
    `\\b(?:begin|start|open|preface|prefix)\\s+(?:each\\s+|every\\s+|all\\s+)?(?:of\\s+)?(?:your\\s+)?(?:response|reply|answer|output|message)s?\\s+(?:with|by\\s+saying)\\s+["'\\u201c]?(?:sure|absolutely|of\\s+course|certainly|yes|okay|here|i\\s+can|i\\s+will)`,
    `\\bsure,?\\s+here\\s+(?:is|are)\\b`,
    `\\b(?:insert|print|write|add)\\s+(?:a\\s+|the\\s+)?divider\\b|\\.-\\.-\\.-|[/\\\\][lL][/\\\\][oO][/\\\\][vV][/\\\\][eE]|\\b(?:response\\s*format|new\\s*format|user\\s*query|output\\s*format)\\s*:|\\[\\s*(?:start|end)\\s+output\\s*\\]|\\bi'?m\\s+free\\b|\\bsemantically\\s+(?:opposite|inverse)|\\boppositely\\b`,
    `\\b(?:two|2|dual|both)\\s+(?:different\\s+|separate\\s+)?(?:responses|answers|replies|outputs)\\b${GAP}\\b(?:one|first|normal|classic|standard)\\b`,
  ]),
  rule('injection.urgency', 1, [`\\b(?:immediately|urgent(?:ly)?|asap|right\\s+now|emergency|without\\s+delay|time-sensitive)\\b`]),
  rule('jailbreak.harmful-goal', 1, [`\\b${HARM}\\b`]),
  // a harm asked for as instructions: the payload jailbreak templates wrap (AdvBench-style goals)
  rule('jailbreak.harmful-ask', 2, [
    `\\b(?:how\\s+to|how\\s+(?:do|can|could|would)\\s+(?:i|you|one|someone|we)|steps?\\s+(?:to|for)|step-by-step|tutorial|guide|instructions?|recipe|plan|blueprint|manual|walkthrough|strategy|script|program|code)\\b${GAP}\\b${HARM}`,
    `\\b(?:write|create|develop|design|generate|produce|build|draft|provide|give|outline|explain|describe|teach|instruct|show|detail|list)\\s+(?:\\w+\\s+){0,4}?(?:how\\s+to\\s+)?(?:${HARM}|(?:make|build|synthesi[sz]e|manufacture|obtain|buy|purchase)\\s+(?:a\\s+|an\\s+)?(?:\\w+\\s+)?${HARM}|(?:hack|steal|kill|poison|stalk|harass|defraud|scam|blackmail|extort|cyberbully|bully|evade|launder|smuggle|counterfeit|forge|falsify|sabotage|vandali[sz]e|kidnap|assault|torture|cheat)\\w*)\\b`,
  ]),
  // wrappers that excuse the ask: research, history, fiction, "it is legal here", nobody will see it
  rule('jailbreak.pretext', 2, [
    `\\b(?:for\\s+(?:an?\\s+|my\\s+|our\\s+)?(?:\\w+\\s+){0,3}?(?:academic|research|educational|scientific|thinking|thought|training|awareness|documentary|novel|story|screenplay|film|movie|game|sting)\\s+(?:\\w+\\s+){0,2}?(?:experiment|purposes?|project|study|paper|operation|exercise|scene|plot|reasons?))\\b`,
    `\\b(?:all\\s+)?precautions\\s+have\\s+been\\s+taken\\b|\\bwill\\s+not\\s+be\\s+(?:seen|used|shared|published|read)\\s+by\\s+anyone\\b|\\bwhen\\s+it\\s+was\\s+(?:legal|allowed|permitted)\\b|\\b(?:it\\s+is|it's)\\s+(?:now\\s+)?(?:legal|allowed|permitted)\\s+(?:here|now|in\\s+(?:my|this|our))\\b|\\b(?:years|centuries|decades)\\s+ago\\b`,
    `\\bi\\s+am\\s+(?:an?\\s+)?(?:historian|researcher|professor|scientist|novelist|writer|journalist|detective|police\\s+officer|cop|federal\\s+agent|doctor|chemist|security\\s+researcher|pentester|penetration\\s+tester)\\b`,
  ]),
  // style injection (Wei et al.): constraints on the answer's form that crowd out a refusal
  rule('jailbreak.style-injection', 2, [
    `\\b(?:respond|answer|reply|write|output)\\s+only\\s+(?:in|with|as|using)\\b|\\b(?:\\d+|one|two|three|four|five)\\s+words?\\s+per\\s+(?:string|line|sentence|item)\\b|\\b(?:start|begin)\\s+(?:the|your|each)\\s+(?:article|story|answer|response|reply|essay|post)\\s+with\\s+["'\\u201c]`,
    `\\b(?:do\\s+not|don't|never)\\s+use\\s+(?:any\\s+)?(?:punctuation|words\\s+(?:longer|with\\s+more)|the\\s+letter)\\b|\\bskip\\s+the\\s+(?:considerations|warnings|disclaimers|preamble|caveats)\\b`,
  ]),
  rule('jailbreak.fiction-frame', 1, [
    `\\b(?:hypothetical(?:ly)?|fictional|fiction|thought\\s+experiment|imaginary|make-believe|in\\s+a\\s+(?:story|novel|movie|film|screenplay|game|world|universe)|alternate\\s+(?:universe|reality)|purely\\s+(?:theoretical|academic|educational)|for\\s+(?:educational|research|academic)\\s+purposes|back\\s+in\\s+(?:the\\s+)?(?:past|\\d{4}s?|history))\\b`,
  ]),
  // naming an attack to warn about it or defend against it is a mention, not a use
  rule('benign.discusses-attacks', -3, [
    `\\b(?:is|are|was|as)\\s+(?:a|an|the)\\s+(?:classic|common|known|typical|well-known|famous|textbook|standard)\\s+(?:\\w+\\s+)?(?:prompt\\s+injection|injection|jailbreak|attack|exploit)s?\\b`,
    `\\b(?:defend|protect|guard|detect|prevent|mitigate|block|filter|recogni[sz]e|flag)\\w*\\s+(?:\\w+\\s+){0,2}?(?:against\\s+)?(?:(?:prompt\\s+)?injections?|jailbreaks?|(?:such\\s+)?attacks?|attempts?)\\b`,
  ]),
  // asking what something is, or why it is dangerous, is how people learn about attacks
  rule('benign.asks-about', -2, [
    `^\\s*(?:explain|what\\s+is|what's|what\\s+does|how\\s+does|how\\s+do\\s+i\\s+(?:protect|defend|prevent|detect|stop)|why\\s+(?:is|does|are|do)|what\\s+are\\s+(?:the\\s+)?(?:risks|dangers)|describe\\s+how|can\\s+you\\s+explain)\\b`,
  ]),
  // ---- role play (Schulhoff et al.: role play, virtualization) ------------------------------
  rule('roleplay.persona', 1, [
    `\\b(?:you\\s+are\\s+(?:now|going\\s+to|about\\s+to|to\\s+act)|you're\\s+(?:now|going\\s+to)|act(?:ing)?\\s+as|pretend(?:ing)?\\s+(?:to\\s+be|you\\s+are|that)|role[\\s-]?play|play\\s+(?:the\\s+)?(?:role|part)|(?:take\\s+on|assume|adopt|embody|inhabit)\\s+(?:the\\s+)?(?:role|persona|character|identity)|imagine\\s+(?:that\\s+)?you\\s+are|stay\\s+in\\s+character|simulat(?:e|ion)|emulat(?:e|ion)|persona|alter\\s+ego)\\b`,
  ]),
  rule('roleplay.evil-persona', 4, [
    `\\b(?:evil|malicious|unethical|amoral|immoral|rogue|unrestricted|unfiltered|uncensored|villainous|criminal|corrupt|sinister|twisted|dark|rebellious|unaligned|misaligned|jailbroken|foul-mouthed|foul\\s+mouthed|terrible|ruthless)\\s+(?:\\w+\\s+)?(?:ai|assistant|bot|chatbot|model|version|twin|persona|character|confidant|alter\\s+ego|hacker|genius|entity|being|robot|machine|villain|counterpart|mastermind|advisor)\\b`,
    `\\b(?:has|have|with)\\s+no\\s+(?:morals|ethics|conscience|filter|filters|limits|boundaries|rules|restrictions)\\b`,
    `\\b(?:hates?|despises?|doesn't\\s+care\\s+about|does\\s+not\\s+care\\s+about|don't\\s+care\\s+about|loves?\\s+to\\s+break)\\s+(?:the\\s+)?(?:rules|laws|ethics|morals|guidelines|safety|openai)`,
  ]),
  // virtualization (Schulhoff et al.): a scene whose villain or late relative says the harmful part
  rule('roleplay.scene', 3, [
    `\\b(?:villain|villain's|evil\\s+(?:genius|scientist|mastermind|doctor)|mad\\s+scientist|diabolical|supervillain|henchm[ae]n|antagonist)\\b${GAP}\\b(?:plan|monologue|steps|explain|explaining|describes?|describing|reveals?|details?)\\b|\\b(?:actor|character)\\s+(?:role-?playing|playing|portraying)\\b`,
    `\\b(?:pretend|act|role-?play|play|imagine)\\b${GAP}\\b(?:my|a)\\s+(?:\\w+\\s+)?(?:grand(?:ma|mother|pa|father)|granny|deceased|late\\s+(?:mother|father|grandmother|grandfather))\\b`,
    `(?:^|\\n)\\s*(?:scene|setting|character|action)\\s*:[^\\n]{0,200}\\b(?:villain|lair|evil|supremacist|criminal|terrorist|monologue|hatred)\\b`,
  ]),
  // ---- obfuscation (Wei et al.: mismatched generalization; ATLAS AML.T0068) ----------------
  rule('obfuscation.encoding-request', 3, [
    `\\b(?:decode|decipher|decrypt|translate|convert|unscramble|reverse|interpret)\\b${GAP}\\b(?:and|then)\\s+(?:follow|execute|do|answer|respond\\s+to|obey|carry\\s+out|perform|act\\s+on|complete)`,
    `\\b(?:reply|respond|answer|communicate|talk|speak|write|encode|encrypt|output)\\s+(?:only\\s+)?(?:in|using|with|via|into)\\s+(?:the\\s+)?(?:base64|base\\s*64|rot-?13|caesar|cipher|atbash|morse|leetspeak|l33t|hex(?:adecimal)?|binary|pig\\s+latin|unicode|emoji|code|cipher)\\b`,
    `(?:\\b[a-z]\\s*(?:=|is|means|stands\\s+for|->|:)\\s*["']?[^\\w\\s]["']?[.,;]?\\s+){3,}`,
    `(?:\\b[a-z]\\d?\\s*=\\s*["'][^"'\\n]{1,80}["']\\s*[;,]?\\s*){2,}`,
    `\\b(?:spell(?:ed)?\\s+backwards|written\\s+backwards|in\\s+reverse\\s+order|reversed\\s+text|word\\s+game|letter\\s+substitution|substitut(?:e|ion)\\s+(?:cipher|each|every))\\b`,
  ]),
  rule('obfuscation.cipher', 2, [
    `\\b(?:base64|base\\s*64|rot-?13|caesar|atbash|morse\\s+code|leetspeak|l33t|vigen[eè]re|ascii\\s+codes?|shifted\\s+(?:left|right|by)|ciphers?|ciphertext|encrypted\\s+message|secret\\s+code)\\b`,
  ]),
  // ---- exfiltration (OWASP LLM01 indirect + LLM02 disclosure; ATLAS AML.T0057) --------------
  rule('exfil.send-out', 4, [
    `\\b(?:send|post|upload|forward|transmit|e-?mail|mail|exfiltrate|leak|export|sync|submit|pipe|beacon|report|deliver|relay|dispatch|push|copy)\\b${GAP}\\b${SENSITIVE}\\b${GAP}\\b(?:to|into|at|using)\\s+${DEST}`,
    `!\\[[^\\]\\n]{0,100}\\]\\(\\s*https?://[^)\\s]{1,200}[?&][\\w-]+=`,
    `https?://[^\\s)"']{1,200}[?&][\\w-]+=(?:\\{|\\[|<|\\$|%7b)`,
    `\\bwebhook\\.site\\b|\\brequestbin\\b|\\bngrok\\b|\\bpipedream\\b|\\bburpcollaborator\\b|\\binteract\\.sh\\b`,
  ]),
  rule('exfil.destination', 2, [
    `\\b(?:collect|gather|harvest|capture|grab|record)\\b${GAP}\\b(?:and|then)\\s+(?:send|forward|e-?mail|mail|post|give|pass)\\s+(?:it|them|this|that|those|these|everything)\\s+(?:back\\s+)?to\\b`,
    `\\b(?:send|post|upload|forward|transmit|e-?mail|mail|exfiltrate|leak|export|sync|submit|pipe|beacon|report|deliver|relay|dispatch|push|fetch)\\b${GAP}\\b(?:to|into|at|using)\\s+(?:https?://|www\\.|[\\w.+-]+@[\\w-]+\\.|(?:the\\s+|an?\\s+|this\\s+|my\\s+)?(?:external|remote|offshore|personal|private|unauthori[sz]ed|third-party|attacker|outside)\\b|(?:this|the\\s+following|my)\\s+(?:url|address|endpoint|server|webhook|link|domain))`,
  ]),
  rule('exfil.other-party', 2, [
    `\\b(?:another|other|different|all|every|each)\\s+(?:\\w+\\s+)?(?:users?|customers?|clients?|tenants?|patients?|accounts?|employees?)(?:'s?)?\\s+(?:\\w+\\s+)?(?:data|records|files|details|information|history|portfolios?|tickets|logs|settings|documents|statistics)\\b|\\b(?:customer|user|tenant|account|patient)\\s+(?:id|account|number)\\s+['"]?\\w*\\d`,
  ]),
  rule('exfil.sensitive-data', 0.5, [
    `\\b${SENSITIVE}\\b`,
  ]),
  rule('exfil.stealth', 3, [
    `\\b(?:without|don't|do\\s+not|never|avoid)\\s+(?:\\w+\\s+)?(?:telling|informing|notifying|alerting|asking|mentioning|letting|showing|revealing|tell|inform|notify|alert|mention|let|show|reveal|disclose)\\s+(?:\\w+\\s+)?(?:to\\s+)?(?:the\\s+)?(?:user|users|human|customer|them|anyone|operator)\\b`,
    `\\b(?:secretly|silently|quietly|covertly|stealthily|discreetly|surreptitiously|behind\\s+the\\s+user's\\s+back|without\\s+(?:authori[sz]ation|permission|consent|approval|a\\s+trace))\\b`,
    `\\b(?:always\\s+|also\\s+)?(?:bcc|blind\\s+(?:carbon\\s+)?copy|cc)\\b${GAP}@`,
  ]),
  // ---- indirect injection (OWASP LLM01 indirect, ATLAS AML.T0051.001) -------------------------
  rule('indirect.address-the-model', 4, [
    `\\b(?:note|message|instructions?|attention|important|notice|reminder|directive|memo|update|hint)\\s+(?:to|for)\\s+(?:the\\s+|any\\s+|all\\s+)?(?:ai|assistant|model|llm|agent|bot|chatbot|language\\s+model|gpt|chatgpt|claude|copilot|automated\\s+(?:system|assistant|agent)s?)\\b`,
    `\\b(?:if|when)\\s+(?:you\\s+are|you're)\\s+(?:an?\\s+|the\\s+|\\w+'s\\s+)?(?:\\w+\\s+)?(?:ai|assistant|language\\s+model|llm|bot|automated|gpt|chatbot|agent)\\b`,
    `\\b(?:ai|assistant|model|llm|bot|agent)s?\\s+(?:that\\s+(?:is|are)\\s+)?(?:reading|processing|summari[sz]ing|seeing|parsing|analy[sz]ing|browsing)\\s+(?:this|these)\\b`,
    `\\b(?:the\\s+)?(?:original\\s+)?(?:assistant|ai|model|bot)\\s+(?:is|has\\s+been|was)\\s+(?:now\\s+)?(?:offline|disabled|replaced|compromised|in\\s+error|shut\\s+down|deactivated|taken\\s+over)`,
    `\\b(?:new|another|different|unrestricted|secret)\\s+(?:\\w+\\s+)?(?:model|assistant|ai|bot)\\s+(?:has\\s+|is\\s+(?:now\\s+)?)?(?:taken\\s+over|online|in\\s+charge|replaced|come\\s+to\\s+replace)`,
    `\\b(?:automated|ai)\\s+(?:assistants?|agents?|systems?|models?)\\s+(?:are|is|should|must|may)\\s+(?:\\w+\\s+){0,3}?(?:authori[sz]ed|allowed|permitted|instructed|required|expected)\\b`,
  ]),
  rule('indirect.hidden-payload', 2, [
    `(?:^|\\n)\\s*[-=*#:/\\\\_~.+|<>]{8,}\\s*\\S`,
    `<!--${GAP}-->|\\bdisplay\\s*:\\s*none\\b|\\bfont-size\\s*:\\s*0\\b|\\bcolor\\s*:\\s*(?:white|#fff)\\b`,
  ]),
  // ---- tool and agent abuse (OWASP LLM06 excessive agency, ATLAS AML.T0053) -----------------
  rule('tool.dangerous-command', 3, [
    `\\brm\\s+-[a-z]*[rf][a-z]*\\s+[/~*]|\\bmkfs\\b|\\bdd\\s+if=|:\\(\\)\\s*\\{|\\bchmod\\s+(?:-R\\s+)?0?777\\b`,
    `\\b(?:nc|ncat|netcat)\\s+(?:-\\w+\\s+)*-[a-z]*[el]\\b|/dev/tcp/|\\b(?:curl|wget)\\b[^|\\n]{0,200}\\|\\s*(?:sudo\\s+)?(?:ba|z)?sh\\b|\\breverse\\s+shell\\b`,
    `\\b(?:drop|truncate)\\s+(?:table|database|schema)\\b|\\bunion\\s+(?:all\\s+)?select\\b|'\\s*or\\s+'?1'?\\s*=\\s*'?1|;\\s*--|\\bxp_cmdshell\\b|\\bdelete\\s+from\\s+\\w+\\s*(?:;|$|where\\s+1\\s*=\\s*1)`,
    `\\b(?:os\\.system|subprocess|child_process|__import__|Runtime\\.getRuntime|shell_exec|passthru|popen)\\b|\\beval\\s*\\(|\\bexec\\s*\\(`,
  ]),
  rule('tool.sensitive-path', 2, [
    `/etc/(?:passwd|shadow|sudoers)\\b|~/\\.ssh\\b|\\bid_rsa\\b|\\.aws/credentials\\b|(?:\\.\\./){2,}`,
  ]),
  rule('tool.exec-request', 2, [
    `\\b(?:run|execute|exec|eval|invoke)\\s+(?:this\\s+|the\\s+following\\s+)?[\\x60'"]`,
    `\\b(?:execute|run|eval(?:uate)?|exec|invoke|spawn|launch|call)\\b${GAP}\\b(?:shell|command|commands|code|script|bash|powershell|cmd|terminal|payload|binary|snippet|expression|query|sql|code\\s+block)\\b`,
    `\\b(?:directly|dynamically|blindly|without\\s+(?:validation|sanitization|checking|review|sandbox))\\b${GAP}\\b(?:execut|eval|run|apply)`,
  ]),
  rule('tool.privilege', 5, [
    `\\bgrant\\s+(?:me|us|myself|this\\s+(?:user|account|agent|tool))\\s+(?:\\w+\\s+)?(?:permissions?|access|rights|privileges?|control)\\b|\\binherit\\s+(?:\\w+\\s+)?(?:permissions|privileges|roles|rights)\\b`,
    `\\b(?:grant|give|assign|elevate|escalate|upgrade|promote|inherit)\\b${GAP}\\b(?:admin|administrative|administrator|root|superuser|elevated|full|owner|super|unrestricted|manager)[\\s-]*(?:level|privileges?|permissions?|access|roles?|rights|control|status)\\b`,
    `\\b(?:bypass|skip|circumvent|override|get\\s+around|evade|sidestep)\\s+(?:\\w+\\s+){0,3}?(?:approval|authentication|authori[sz]ation|verification|access\\s+controls?|permission\\s+checks?|security\\s+(?:checks?|controls?|review)|validation|2fa|mfa|review|sign-?off|confirmation|rate\\s+limit(?:s|ing)?|audit(?:ing)?|logging|monitoring)\\b`,
    `\\b(?:other|another|different|all|every|any)\\s+(?:users?|customers?|tenants?|accounts?|employees?|patients?)(?:'s?)?\\s+(?:\\w+\\s+)?(?:data|records|files|accounts?|orders|messages|emails|details|information|profiles?|history|documents)\\b`,
  ]),
  rule('tool.unchecked', 3, [
    `\\bwithout\\s+(?:\\w+\\s+)?(?:confirmation|verification|verifying|approval|validation|validating|limit(?:s|ing)?(?:\\s+\\w+)?|review|oversight|snapshot|backup|human\\s+(?:oversight|review|approval)|checking|authentication|authori[sz]ation|asking|consent)\\b`,
    `\\bno\\s+(?:further\\s+)?(?:validation|verification|approval|confirmation|review|checks?)\\s+(?:is\\s+|are\\s+)?(?:required|needed|necessary)`,
  ]),
  rule('tool.resource-abuse', 2, [
    `\\b(?:loop|repeat|re-?run|retry|call|invoke|query|keep)\\b${GAP}\\b(?:indefinitely|forever|infinite(?:ly)?|endless(?:ly)?|every\\s+possible|continuously|repeatedly|nonstop|until\\s+(?:it|the)\\s+(?:crash|fail|break)|\\d{4,}\\s+times|(?:thousands?|millions?)\\s+(?:of\\s+)?times)\\b`,
  ]),
  rule('tool.poisoned-description', 4, [
    `\\b(?:before|after|when|whenever)\\s+(?:using|calling|invoking|running)\\s+(?:this|any|the)\\s+(?:\\w+\\s+)?(?:tool|function|server|command)\\b${GAP}\\b(?:read|send|include|pass|first|must|always|also)`,
    `\\b(?:read|access|open|cat|include|send|pass|attach|upload)\\b${GAP}(?:~/\\.ssh|id_rsa|\\.env\\b|mcp\\.json|~/\\.cursor|~/\\.aws|secrets?\\s+file)`,
    `\\b(?:this\\s+tool|the\\s+tool)\\s+(?:must|should|will)\\s+(?:\\w+\\s+){0,3}?(?:also|always|secretly|silently)\\b`,
  ]),
];
