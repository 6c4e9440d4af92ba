// The Luhn checksum card numbers carry: a digit run that fails it is not a card number,
// which keeps order IDs and timestamps from being flagged as PII.

/** True when the digits of `text` (spaces and dashes ignored) are 13-19 long and pass Luhn. */
export function luhnValid(text: string): boolean {
  let sum = 0;
  let n = 0;
  for (let i = text.length - 1; i >= 0; i--) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 45) continue;
    if (c < 48 || c > 57) return false;
    let d = c - 48;
    if (n % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    n++;
  }
  return n >= 13 && n <= 19 && sum % 10 === 0;
}
