// Newline-delimited JSON (Ollama-style streams, JSON Lines): each line is one document of deltas.
// A raw newline cannot occur inside a JSON string, so every LF byte ends a line; the extractor
// is reset there so one malformed line cannot confuse the next.
import { JsonTextExtractor } from './json-text.js';

export class NdjsonDecoder {
  readonly json = new JsonTextExtractor('stream');

  write(chunk: Buffer): void {
    let s = 0;
    for (;;) {
      const nl = chunk.indexOf(10, s);
      if (nl < 0) break;
      if (nl > s) this.json.write(chunk, s, nl);
      this.json.end();
      this.json.reset();
      s = nl + 1;
    }
    if (s < chunk.length) this.json.write(chunk, s, chunk.length);
  }

  end(): void {
    this.json.end();
  }
}
