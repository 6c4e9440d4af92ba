// What every ops command shares: where it prints, and how an error becomes an exit code.
import { OpsError } from './client.js';

export interface OpsIO {
  out: (text: string) => void;
  err: (text: string) => void;
}

export async function guarded(io: OpsIO, fn: () => Promise<number>): Promise<number> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof OpsError) {
      io.err(`cordon: ${err.message}`);
      return err.exitCode;
    }
    // never a stack trace for the operator; the message is enough to report
    io.err(`cordon: ${(err as Error)?.message ?? String(err)}`);
    return 1;
  }
}
