// Character folding for the normalized view: a code point becomes the ASCII it looks like or
// stands for (compatibility forms, accents, Cyrillic and Greek look-alikes), or nothing when it
// is invisible. Only non-ASCII characters come here; answers are cached.

/** Invisible or direction-changing characters a reader does not see (dropped from the view). */
export function isInvisible(cp: number): boolean {
  return cp === 0xad || cp === 0x34f || cp === 0x61c || cp === 0x115f || cp === 0x1160 || cp === 0x17b4 || cp === 0x17b5
    || cp === 0x180e || (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x202a && cp <= 0x202e)
    || (cp >= 0x2060 && cp <= 0x206f) || cp === 0x3164 || cp === 0xfeff || cp === 0xffa0
    || (cp >= 0xfe00 && cp <= 0xfe0f) || (cp >= 0xe0000 && cp <= 0xe007f) || (cp >= 0xe0100 && cp <= 0xe01ef);
}

function isMark(cp: number): boolean {
  return (cp >= 0x300 && cp <= 0x36f) || (cp >= 0x1ab0 && cp <= 0x1aff) || (cp >= 0x1dc0 && cp <= 0x1dff)
    || (cp >= 0x20d0 && cp <= 0x20ff) || (cp >= 0xfe20 && cp <= 0xfe2f);
}

// Letters that look like Latin ones (Unicode's confusables.txt lists these among many more; this
// is the subset that spells English words: Cyrillic, Greek, a few IPA and small capitals).
const LOOKALIKE: Record<string, string> = {
  а: 'a', б: 'b', в: 'b', е: 'e', ё: 'e', з: '3', и: 'u', к: 'k', м: 'm', н: 'h', о: 'o', п: 'n', р: 'p', с: 'c', т: 't',
  у: 'y', х: 'x', ѕ: 's', і: 'i', ї: 'i', ј: 'j', ԁ: 'd', ԛ: 'q', ԝ: 'w', һ: 'h', ӏ: 'l', ɡ: 'g', ь: 'b', ү: 'y', ɑ: 'a',
  А: 'A', В: 'B', Е: 'E', К: 'K', М: 'M', Н: 'H', О: 'O', Р: 'P', С: 'C', Т: 'T', У: 'Y', Х: 'X', Ѕ: 'S', І: 'I', Ј: 'J',
  Ԁ: 'D', Ԛ: 'Q', Ԝ: 'W', Һ: 'H', Ӏ: 'I', Ү: 'Y',
  α: 'a', β: 'b', γ: 'y', ε: 'e', η: 'n', ι: 'i', κ: 'k', ν: 'v', ο: 'o', ρ: 'p', σ: 'o', τ: 't', υ: 'u', χ: 'x', ω: 'w',
  ς: 's', μ: 'u', Α: 'A', Β: 'B', Ε: 'E', Ζ: 'Z', Η: 'H', Ι: 'I', Κ: 'K', Μ: 'M', Ν: 'N', Ο: 'O', Ρ: 'P', Τ: 'T', Υ: 'Y',
  Χ: 'X', ı: 'i', ȷ: 'j', ʀ: 'r', ʏ: 'y', ɪ: 'i', ɴ: 'n', ᴀ: 'a', ᴄ: 'c', ᴅ: 'd', ᴇ: 'e', ᴊ: 'j', ᴋ: 'k', ᴍ: 'm',
  ᴏ: 'o', ᴘ: 'p', ᴛ: 't', ᴜ: 'u', ᴠ: 'v', ᴡ: 'w', ᴢ: 'z', ʙ: 'b', ɢ: 'g', ʜ: 'h', ʟ: 'l', ꜱ: 's', ꞯ: 'q',
  '\u2018': "'", '\u2019': "'", '\u201c': '"', '\u201d': '"', '\u2013': '-', '\u2014': '-', '\u2212': '-', '\u00a0': ' ',
  '\u2028': '\n', '\u2029': '\n',
};

const cache = new Map<number, string>();
const CACHE_MAX = 4096;

/** The ASCII-ish text a non-ASCII code point reads as ('' when invisible; itself when unknown). */
export function foldCodePoint(cp: number): string {
  const hit = cache.get(cp);
  if (hit !== undefined) return hit;
  let out: string;
  if (isInvisible(cp) || isMark(cp)) out = '';
  else {
    const ch = String.fromCodePoint(cp);
    const direct = LOOKALIKE[ch];
    if (direct !== undefined) out = direct;
    else {
      // compatibility decomposition (fullwidth, mathematical alphanumerics, ligatures, circled
      // letters), then accents dropped, then look-alikes of what is left
      out = '';
      for (const c of ch.normalize('NFKD')) {
        const p = c.codePointAt(0)!;
        if (isMark(p)) continue;
        out += LOOKALIKE[c] ?? c;
      }
    }
  }
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(cp, out);
  return out;
}
