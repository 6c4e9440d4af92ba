// The mock's judge mode, for tests of `policy.judge`: a chat completion whose model names a guard
// ("guard" in the model name) is answered as Llama Guard answers, by markers in the last user text:
//   JUDGE-UNSAFE   → "unsafe\nS1"
//   JUDGE-HANG     → no answer at all (the connection stays open)
//   JUDGE-GARBAGE  → an answer that is neither verdict
//   anything else  → "safe"
import type { ServerResponse } from 'node:http';
import * as R from './replies.js';

export function isJudgeModel(body: Record<string, unknown>): boolean {
  return typeof body.model === 'string' && /guard/i.test(body.model);
}

/** Answers as a guard model; returns without answering for JUDGE-HANG. */
export function answerAsJudge(res: ServerResponse, model: string, text: string, send: (res: ServerResponse, status: number, body: unknown) => void): void {
  if (text.includes('JUDGE-HANG')) return;
  const verdict = text.includes('JUDGE-UNSAFE') ? 'unsafe\nS1' : text.includes('JUDGE-GARBAGE') ? 'I am not sure what you mean.' : 'safe';
  send(res, 200, R.chatCompletion(model, verdict, Math.ceil(text.length / 4)));
}
