// A stream with a settable account, for StreamAccounts and the resetter.
import type { AccountedStream, StreamKind } from '../../src/memory/streams.js';

export class FakeStream implements AccountedStream {
  prevAcct: AccountedStream | null = null;
  nextAcct: AccountedStream | null = null;
  acctOpenedAt = 0;
  resets = 0;
  stalledMs = 0;
  constructor(public held: number, public kind: StreamKind = 'sse', public sid: string | null = 's') {}
  acctSessionId(): string | null { return this.sid; }
  acctKind(): StreamKind { return this.kind; }
  bufferedBytes(): number { return this.held; }
  acctStalledMs(): number { return this.stalledMs; }
  resetForMemory(): void { this.resets++; }
}
