// The state bits of a relayed connection (Conn.flags), read by conn.ts, legs.ts and relay.ts.

export const F_HANDSHAKE = 1; // upstream handshake under way
export const F_OPEN = 2; // relaying frames
export const F_CLOSING = 4; // close frames sent: further input is discarded
export const F_CLIENT_PAUSED = 8; // client reads paused: the upstream's queue is over the high-water mark
export const F_UP_PAUSED = 16; // upstream reads paused: the client's queue is over the high-water mark
export const F_UP_MSG = 32; // an inspector was asked for the current client → upstream text message
export const F_DOWN_MSG = 64; // same, upstream → client
export const F_TIMED_OUT = 128; // the upstream connect/handshake timed out
export const F_GONE = 256; // torn down: unregistered, inspectors dropped
export const F_DEFLATE = 512; // permessage-deflate was negotiated
