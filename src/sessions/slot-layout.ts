// The session table's record layout and its constants, shared by the files that read and write
// slots (slot-records.ts, lifecycle.ts, table.ts). Nothing here holds state.
import type { SessionStateName } from './types.js';

/** Seconds of the epoch base: timestamps are stored as uint32 seconds after it. */
export const EPOCH_S = 1_600_000_000;

// the state byte of a slot; a free slot reads as `completed`
export const FREE = 0;
export const ACTIVE = 1;
export const IDLE = 2;
export const KILLED = 3;
export const TERMINATED = 4;
export const STATE_NAMES: readonly SessionStateName[] = ['completed', 'active', 'idle', 'killed', 'terminated'];
export const STATE_CODES: Record<string, number> = { active: ACTIVE, idle: IDLE, killed: KILLED, terminated: TERMINATED };

// One 48-byte record per slot in one buffer (array of structs): a request touches one or two
// cache lines instead of one per field, which at 1M sessions is what lookup+update costs.
//   byte 0 state u8 | 1 meta u8 | 2 upstream u16 | 4 started u32 | 8 last seen u32 | 12 requests u32
//   16 flags u32 | 20 IPv4 u32 | 24 rate window u16 | 26 this window u16 | 28 last window u16
//   30 in-flight u16
//   32 bytes in f64 | 40 bytes out f64 (f64: exact to 2^53)
//   48 agent u16 | 50 tool calls u16 | 52 tokens in u32 | 56 tokens out u32 | 60 model u16
//   62 spend meta u16 | 64 cost in USD f64 (the spend fields, written by spend/ through table.ts)
export const SLOT = 72;
export const SLOT_U16 = SLOT / 2;
export const SLOT_U32 = SLOT / 4;
export const SLOT_F64 = SLOT / 8;
// field offsets, in units of the view that reads them
export const F_STATE = 0; // u8
export const F_META = 1; // u8
export const F_UPSTREAM = 1; // u16
export const F_STARTED = 1; // u32
export const F_LAST_SEEN = 2; // u32
export const F_REQUESTS = 3; // u32 (the free-list link while the slot is free)
export const F_FLAGS = 4; // u32
export const F_IPV4 = 5; // u32
export const F_RATE_WINDOW = 12; // u16
export const F_RATE_NOW = 13; // u16
export const F_RATE_LAST = 14; // u16
export const F_INFLIGHT = 15; // u16: requests holding the slot (hold/release)
export const F_BYTES_IN = 4; // f64
export const F_BYTES_OUT = 5; // f64
export const F_AGENT = 24; // u16: agent number + 1 (0 = no agent)
export const F_TOOL_CALLS = 25; // u16
export const F_TOKENS_IN = 13; // u32
export const F_TOKENS_OUT = 14; // u32
export const F_MODEL = 30; // u16: first model's number + 1 (0 = none)
export const F_SPEND_META = 31; // u16: SPEND_* bits
export const F_COST = 8; // f64
/** byte range of the spend fields, zeroed together when a slot is taken */
export const SPEND_FROM = 48;
export const SPEND_TO = 72;
export const SPEND_ESTIMATED = 1; // some token count was estimated
export const SPEND_MORE_MODELS = 2; // models beyond the first are in a side table

export const NO_UPSTREAM = 0xffff;
// meta bits
export const IP_V4 = 1;
export const IP_MAPPED = 2; // the client address was ::ffff:a.b.c.d
export const IP_OTHER = 4; // in the ipOther side map
export const COUNTED = 8; // created by a request (counts in stats().total)

export const RATE_WINDOW_S = 60;
export const U16_MAX = 0xffff;

/** Epoch ms to stored seconds: uint32 seconds after EPOCH_S, clamped to the field. */
export function toS(ms: number): number {
  const s = Math.floor(ms / 1000) - EPOCH_S;
  return s < 0 ? 0 : s > 0xffffffff ? 0xffffffff : s;
}
