// A memory profile sets every per-session and per-stream bound in one word (SPEC.md "Memory profiles").
import type { Profile } from './schema.js';

export interface ProfileBounds {
  /** what a flag keeps: excerpts only, bounded captures, or whole bodies streamed to storage */
  capture: 'flags_only' | 'bounded' | 'stream_to_storage';
  /** bytes of text kept around a match in an event's excerpt */
  excerpt_bytes: number;
  /** largest single capture held in memory (0 = none) */
  max_capture_size: number;
  max_captures_per_session: number;
  capture_context_bytes: number;
  /** per-WebSocket-connection queue high-water mark, each direction */
  ws_high_water: number;
  /** per-stream scanner tail kept for matches split across chunks */
  scan_tail_bytes: number;
}

export const PROFILE_BOUNDS: Readonly<Record<Profile, Readonly<ProfileBounds>>> = {
  'high-density': {
    capture: 'flags_only', excerpt_bytes: 200, max_capture_size: 0, max_captures_per_session: 0,
    capture_context_bytes: 100, ws_high_water: 16 * 1024, scan_tail_bytes: 256,
  },
  standard: {
    capture: 'bounded', excerpt_bytes: 500, max_capture_size: 2000, max_captures_per_session: 3,
    capture_context_bytes: 500, ws_high_water: 64 * 1024, scan_tail_bytes: 512,
  },
  forensics: {
    capture: 'stream_to_storage', excerpt_bytes: 500, max_capture_size: 2000, max_captures_per_session: 3,
    capture_context_bytes: 500, ws_high_water: 256 * 1024, scan_tail_bytes: 1024,
  },
};
