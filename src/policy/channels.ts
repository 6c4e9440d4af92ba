// Where a piece of text came from. A rule's target becomes a bit mask over these channels, so
// one compiled matcher serves every direction and a context ignores rules not aimed at it.
import type { RuleConfig } from '../config/schema.js';

export const REQ_TEXT = 1;
export const REQ_TOOL = 2;
export const RESP_TEXT = 4;
export const RESP_TOOL = 8;

export function targetMask(target: RuleConfig['target']): number {
  switch (target) {
    case 'request': return REQ_TEXT | REQ_TOOL;
    case 'response': return RESP_TEXT | RESP_TOOL;
    case 'tool_call': return REQ_TOOL | RESP_TOOL;
    default: return REQ_TEXT | REQ_TOOL | RESP_TEXT | RESP_TOOL;
  }
}
