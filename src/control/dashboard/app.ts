// The dashboard's browser script, served as /dashboard/app.js. Plain ES2020, no framework, no
// build step. It is assembled here from pieces under script/, one per concern, inside one function
// scope, so the pieces call each other by name as one file would. No piece may contain backticks or
// dollar-brace (each lives in a String.raw template).
//
// Data flow: one initial load of /control/sessions, /control/stats, /control/memory and
// /control/flagged; then live updates from /control/events, read with fetch() streaming because
// EventSource cannot send the Authorization header. Stats and memory are refreshed on a slow
// timer only while the event stream has not sent a `memory` event of its own.
// Everything from the gateway is put in the page with textContent: excerpts are agent traffic.
import { STATE_JS } from './script/state.js';
import { API_JS } from './script/api.js';
import { FORMAT_JS } from './script/format.js';
import { SESSIONS_JS } from './script/sessions.js';
import { AGENTS_JS } from './script/agents.js';
import { DETAIL_JS } from './script/detail.js';
import { FLAGGED_JS } from './script/flagged.js';
import { APPROVALS_JS } from './script/approvals.js';
import { MEMORY_JS } from './script/memory.js';
import { EVENT_STREAM_JS } from './script/event-stream.js';
import { START_JS } from './script/start.js';

export const DASHBOARD_JS = [
  "'use strict';\n(function () {\n",
  STATE_JS,
  API_JS,
  FORMAT_JS,
  SESSIONS_JS,
  AGENTS_JS,
  DETAIL_JS,
  FLAGGED_JS,
  APPROVALS_JS,
  MEMORY_JS,
  EVENT_STREAM_JS,
  START_JS,
  '})();\n',
].join('');
