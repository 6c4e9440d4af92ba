// The dashboard script: its bounds, the one state object, and the DOM helpers the other pieces use.
// One piece of the script that ../app.ts assembles; the pieces share one function scope.
export const STATE_JS = String.raw`  var TOKEN_KEY = 'cordon.token';
  var MAX_ROWS = 500;
  var MAX_FLAGGED = 200;
  var MAX_EVENTS_PER_SESSION = 100;
  var MAX_TRACKED = 2000;
  var HISTORY = 120;
  var SLOW_REFRESH_MS = 5000;

  var state = {
    rows: new Map(),          // id -> { view, tr }
    events: new Map(),        // id -> [event]  (bounded)
    selected: null,
    memory: [],               // [{ at, ratio, level }]
    memoryFromStream: 0,      // time of the last memory event on the stream
    stream: null,             // AbortController of the SSE fetch
    generation: 0,
    pending: new Set(),       // ids whose view must be fetched
    pendingTimer: 0,
    slowTimer: 0
  };

  function $(id) { return document.getElementById(id); }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  var SVG = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs) {
    var e = document.createElementNS(SVG, tag);
    for (var k in attrs) e.setAttribute(k, String(attrs[k]));
    return e;
  }

`;
