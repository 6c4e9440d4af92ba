// Duplicate keys in a JSON body. JSON.parse keeps the last of two equal keys, some backends take
// the first: with `"messages"` twice, the policy would scan one conversation and the model read
// the other. A body is refused when it names a key twice in one object, anywhere: the keys in the
// text are counted (a byte pass that jumps from quote to quote) and compared with the keys the
// parsed value holds; they differ exactly when some object repeated a key.

/** Keys written in the JSON text `buf` (strings followed by a colon). */
export function keysInText(buf: Buffer): number {
  let n = 0;
  let i = buf.indexOf(0x22);
  const len = buf.length;
  while (i >= 0 && i < len) {
    // i is an opening quote: find its closing quote (one not escaped by an odd run of backslashes)
    let j = buf.indexOf(0x22, i + 1);
    while (j > 0) {
      let k = j - 1;
      while (buf[k] === 0x5c) k--;
      if ((j - 1 - k) % 2 === 0) break;
      j = buf.indexOf(0x22, j + 1);
    }
    if (j < 0) return n;
    let k = j + 1;
    while (k < len && (buf[k] === 0x20 || buf[k] === 0x0a || buf[k] === 0x0d || buf[k] === 0x09)) k++;
    if (buf[k] === 0x3a) n++;
    i = buf.indexOf(0x22, k);
  }
  return n;
}

/** Keys held by a parsed JSON value, at every depth (iterative: depth is not bounded by the stack). */
export function keysInValue(root: unknown): number {
  if (root === null || typeof root !== 'object') return 0;
  let n = 0;
  const stack: object[] = [root];
  while (stack.length > 0) {
    const v = stack.pop()!;
    if (Array.isArray(v)) {
      for (const x of v) if (x !== null && typeof x === 'object') stack.push(x as object);
      continue;
    }
    const o = v as Record<string, unknown>;
    for (const k in o) {
      n++;
      const x = o[k];
      if (x !== null && typeof x === 'object') stack.push(x);
    }
  }
  return n;
}

/** Whether the JSON text `buf`, which parsed to `value`, repeats a key within some object. */
export function hasDuplicateKeys(buf: Buffer, value: unknown): boolean {
  return keysInText(buf) !== keysInValue(value);
}
