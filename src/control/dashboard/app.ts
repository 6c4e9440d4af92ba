// The dashboard's browser script, served as /dashboard/app.js. Plain ES2020, no framework, no
// build step. It must not contain backticks or dollar-brace (it lives in a String.raw template).
//
// Data flow: one initial load of /control/sessions, /control/stats, /control/memory and
// /control/flagged; then live updates from /control/events, read with fetch() streaming because
// EventSource cannot send the Authorization header. Stats and memory are refreshed on a slow
// timer only while the event stream has not sent a `memory` event of its own.
// Everything from the gateway is put in the page with textContent: excerpts are agent traffic.
export const DASHBOARD_JS = String.raw`'use strict';
(function () {
  var TOKEN_KEY = 'cordon.token';
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

  // ---------- token and API ----------
  function token() { try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch (e) { return ''; } }
  function setToken(t) { try { if (t) sessionStorage.setItem(TOKEN_KEY, t); else sessionStorage.removeItem(TOKEN_KEY); } catch (e) {} }
  function headers(extra) {
    var h = extra || {};
    var t = token();
    if (t) h['Authorization'] = 'Bearer ' + t;
    return h;
  }

  function AuthError() { this.name = 'AuthError'; this.message = 'unauthorized'; }

  function api(path, method) {
    return fetch(path, { method: method || 'GET', headers: headers({ 'Accept': 'application/json' }), cache: 'no-store' }).then(function (res) {
      if (res.status === 401) { needAuth(); throw new AuthError(); }
      return res.text().then(function (text) {
        var body = null;
        try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
        if (!res.ok) {
          var msg = body && body.error && body.error.message ? body.error.message : ('HTTP ' + res.status);
          var err = new Error(msg); err.status = res.status; throw err;
        }
        return body;
      });
    });
  }

  function needAuth() {
    var had = token() !== '';
    stopAll();
    setStatus('auth', 'token needed');
    $('app').hidden = true;
    $('auth').hidden = false;
    $('auth-message').textContent = had
      ? 'The control API refused this token. Check CORDON_CONTROL_TOKEN and try again.'
      : 'This gateway requires its control token.';
    if (had) setToken('');
    var input = $('token-input');
    input.value = '';
    input.focus();
  }

  function setStatus(s, text) {
    var e = $('conn-status');
    e.dataset.state = s;
    e.textContent = text;
  }

  // errors go to the notice line; the status badge only tells the state of the event stream
  function report(err) {
    if (err instanceof AuthError) return;
    var n = $('notice');
    n.textContent = 'error: ' + (err && err.message ? err.message : String(err));
    n.hidden = false;
    clearTimeout(state.noticeTimer);
    state.noticeTimer = setTimeout(function () { n.hidden = true; }, 10000);
  }

  // a part of the API this gateway does not serve (404) leaves its panel with a note, not an error
  function optional(panel, p) {
    return p.catch(function (err) {
      if (err && err.status === 404) { $(panel).textContent = 'not available on this gateway'; return; }
      throw err;
    });
  }

  // ---------- formatting ----------
  function bytes(n) {
    if (typeof n !== 'number' || !isFinite(n)) return '-';
    var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0;
    while (Math.abs(n) >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return i === 0 ? n + ' B' : n.toFixed(n >= 100 ? 0 : 1) + ' ' + u[i];
  }
  function ago(iso) {
    var t = typeof iso === 'number' ? iso : Date.parse(iso);
    if (!isFinite(t)) return '-';
    var s = Math.max(0, Math.round((Date.now() - t) / 1000));
    if (s < 60) return s + 's ago';
    if (s < 3600) return Math.floor(s / 60) + 'm ago';
    if (s < 86400) return Math.floor(s / 3600) + 'h ago';
    return Math.floor(s / 86400) + 'd ago';
  }
  // event times arrive as ISO 8601 on the wire (epoch ms is accepted too)
  function toMs(t) { return typeof t === 'number' ? t : Date.parse(t); }
  function clock(t) {
    var d = new Date(toMs(t));
    return isFinite(d.getTime()) ? d.toLocaleTimeString() : '-';
  }

  // ---------- sessions table ----------
  var COLUMNS = [
    ['id', function (v) { return v.id; }, ''],
    ['state', function (v) { return v.state; }, ''],
    ['upstream', function (v) { return v.upstream || '-'; }, ''],
    ['client_ip', function (v) { return v.client_ip || '-'; }, ''],
    ['requests', function (v) { return v.requests; }, 'num'],
    ['bytes_in', function (v) { return bytes(v.bytes_in); }, 'num'],
    ['bytes_out', function (v) { return bytes(v.bytes_out); }, 'num'],
    ['flags', function (v) { return v.flags; }, 'num'],
    ['last_seen_at', function (v) { return ago(v.last_seen_at); }, '']
  ];

  function killable(s) { return s === 'active' || s === 'idle'; }

  function renderRow(row) {
    var v = row.view, tr = row.tr;
    tr.dataset.sessionId = v.id;
    tr.dataset.state = v.state;
    for (var i = 0; i < COLUMNS.length; i++) {
      var td = tr.children[i];
      td.textContent = String(COLUMNS[i][1](v));
      if (COLUMNS[i][0] === 'id') td.title = v.id;
    }
    var kill = tr.querySelector('button[data-action="kill"]');
    var resume = tr.querySelector('button[data-action="resume"]');
    kill.disabled = !killable(v.state);
    resume.disabled = v.state !== 'killed' && v.state !== 'terminated';
  }

  function upsert(view) {
    if (!view || typeof view.id !== 'string') return;
    var row = state.rows.get(view.id);
    if (!row) {
      if (state.rows.size >= MAX_ROWS) evictRow();
      var tr = document.createElement('tr');
      for (var i = 0; i < COLUMNS.length; i++) {
        var td = el('td', '', COLUMNS[i][2]);
        td.dataset.field = COLUMNS[i][0];
        tr.appendChild(td);
      }
      var actions = el('td');
      actions.appendChild(actionButton('kill', 'Kill', view.id));
      actions.appendChild(document.createTextNode(' '));
      actions.appendChild(actionButton('resume', 'Resume', view.id));
      tr.appendChild(actions);
      row = { view: view, tr: tr, touched: Date.now() };
      state.rows.set(view.id, row);
      var body = $('sessions').tBodies[0];
      body.insertBefore(tr, body.firstChild);
    } else {
      row.view = Object.assign({}, row.view, view);
      row.touched = Date.now();
    }
    renderRow(row);
    applyFilter(row);
    updateCount();
    if (state.selected === view.id) renderDetailFields(row.view);
  }

  function evictRow() {
    // drop the row updated longest ago that is not the one open in the detail panel
    var oldest = null;
    state.rows.forEach(function (r, id) {
      if (id !== state.selected && (!oldest || r.touched < oldest.touched)) oldest = r;
    });
    if (oldest) { oldest.tr.remove(); state.rows.delete(oldest.view.id); }
  }

  function actionButton(action, label, id) {
    var b = el('button', label);
    b.type = 'button';
    b.dataset.action = action;
    b.dataset.sessionId = id;
    return b;
  }

  function setSessionState(id, s) {
    var row = state.rows.get(id);
    if (row) upsert({ id: id, state: s });
    else queueFetch(id);
  }

  function updateCount() {
    var n = state.rows.size;
    $('sessions-count').textContent = n === 1 ? '1 shown' : n + ' shown';
    $('sessions-empty').hidden = n > 0;
  }

  function applyFilter(row) {
    var q = $('filter').value.trim().toLowerCase();
    row.tr.hidden = q !== '' && row.view.id.toLowerCase().indexOf(q) < 0 && String(row.view.state).indexOf(q) < 0;
  }

  function loadSessions() {
    return api('/control/sessions?limit=' + MAX_ROWS).then(function (page) {
      var list = (page && page.sessions) || [];
      // oldest first so that the newest ends up on top
      list.sort(function (a, b) { return Date.parse(a.last_seen_at) - Date.parse(b.last_seen_at); });
      for (var i = 0; i < list.length; i++) upsert(list[i]);
      updateCount();
    });
  }

  // new sessions announced by the stream are fetched in small batches; a burst reloads the list
  function queueFetch(id) {
    state.pending.add(id);
    if (!state.pendingTimer) state.pendingTimer = setTimeout(flushPending, 250);
  }
  function flushPending() {
    state.pendingTimer = 0;
    var ids = Array.from(state.pending);
    state.pending.clear();
    if (ids.length > 20) { loadSessions().catch(report); return; }
    ids.forEach(function (id) {
      api('/control/sessions/' + encodeURIComponent(id)).then(upsert).catch(function (err) {
        if (err && err.status === 404) return;
        report(err);
      });
    });
  }

  function act(action, id, button) {
    button.disabled = true;
    api('/control/sessions/' + encodeURIComponent(id) + '/' + action, 'POST').then(function (r) {
      upsert({ id: r.id, state: r.state });
      addSessionEvent(r.id, { kind: 'session', type: action === 'kill' ? 'killed' : 'resumed', session_id: r.id, at: Date.now(), reason: 'dashboard' });
    }).catch(function (err) {
      report(err);
      var row = state.rows.get(id);
      if (row) renderRow(row);
    });
  }

  // ---------- detail ----------
  var DETAIL_FIELDS = ['id', 'state', 'upstream', 'client_ip', 'started_at', 'last_seen_at', 'requests', 'bytes_in', 'bytes_out', 'flags', 'instance'];

  function openDetail(id) {
    state.selected = id;
    state.rows.forEach(function (r, rid) { r.tr.classList.toggle('selected', rid === id); });
    var d = $('detail');
    d.hidden = false;
    d.dataset.sessionId = id;
    $('detail-id').textContent = id;
    renderDetailEvents();
    api('/control/sessions/' + encodeURIComponent(id)).then(function (v) {
      if (state.selected !== id) return;
      if (state.rows.has(id)) upsert(v); else renderDetailFields(v);
    }).catch(report);
    // stored history is optional: older events of this session, when storage answers
    api('/control/history?session_id=' + encodeURIComponent(id) + '&limit=50').then(function (h) {
      if (state.selected !== id || !h) return;
      var evs = h.events || (h.sessions && h.sessions[0] && h.sessions[0].events) || [];
      for (var i = 0; i < evs.length; i++) addSessionEvent(id, evs[i], true);
      renderDetailEvents();
    }).catch(function () {});
  }

  function closeDetail() {
    state.selected = null;
    $('detail').hidden = true;
    state.rows.forEach(function (r) { r.tr.classList.remove('selected'); });
  }

  function renderDetailFields(v) {
    var dl = $('detail-fields');
    dl.textContent = '';
    for (var i = 0; i < DETAIL_FIELDS.length; i++) {
      var k = DETAIL_FIELDS[i];
      if (v[k] === undefined) continue;
      var val = v[k];
      if (k === 'bytes_in' || k === 'bytes_out') val = bytes(val) + ' (' + val + ')';
      var dd = el('dd', val === null ? '-' : val);
      dd.dataset.field = k;
      dl.appendChild(el('dt', k));
      dl.appendChild(dd);
    }
  }

  function eventKey(ev) { return ev.id || (ev.kind + ':' + ev.type + ':' + ev.rule + ':' + ev.at); }

  function addSessionEvent(id, ev, quiet) {
    var list = state.events.get(id);
    if (!list) {
      if (state.events.size >= MAX_TRACKED) state.events.delete(state.events.keys().next().value);
      list = [];
      state.events.set(id, list);
    }
    var key = eventKey(ev);
    for (var i = 0; i < list.length; i++) if (eventKey(list[i]) === key) return;
    list.push(ev);
    list.sort(function (a, b) { return (toMs(a.at) || 0) - (toMs(b.at) || 0); });
    if (list.length > MAX_EVENTS_PER_SESSION) list.splice(0, list.length - MAX_EVENTS_PER_SESSION);
    if (!quiet && state.selected === id) renderDetailEvents();
  }

  function describe(ev) {
    // stored session events carry type as action and rule as session.<type>
    if (ev.kind === 'session') return 'session ' + (ev.type || ev.action || 'event') + (ev.reason || ev.excerpt ? ' (' + (ev.reason || ev.excerpt) + ')' : '');
    if (ev.kind === 'policy' || ev.rule) {
      return (ev.action || 'flag') + ' by rule ' + ev.rule + ' (' + (ev.severity || '?') + ', ' + (ev.direction || '?') + '): ' + (ev.excerpt || '');
    }
    return 'session ' + (ev.type || ev.kind || 'event') + (ev.reason ? ' (' + ev.reason + ')' : '');
  }

  function renderDetailEvents() {
    var ol = $('detail-events');
    ol.textContent = '';
    var list = state.events.get(state.selected) || [];
    if (list.length === 0) { ol.appendChild(el('li', 'no events seen yet', 'empty')); return; }
    for (var i = list.length - 1; i >= 0; i--) {
      var li = el('li', clock(list[i].at) + '  ' + describe(list[i]));
      if (list[i].severity) li.className = 'sev-' + list[i].severity;
      ol.appendChild(li);
    }
  }

  // ---------- flagged ----------
  var flaggedSeen = new Set();
  function addFlagged(ev, atEnd) {
    if (!ev || !ev.rule) return;
    var key = eventKey(ev);
    if (flaggedSeen.has(key)) return;
    flaggedSeen.add(key);
    var tr = document.createElement('tr');
    tr.dataset.eventId = key;
    tr.dataset.flagSession = ev.session_id || '';
    var cells = [clock(ev.at), ev.session_id, ev.rule, ev.severity, ev.action, ev.direction, ev.excerpt];
    for (var i = 0; i < cells.length; i++) {
      var td = el('td', cells[i] === undefined ? '' : cells[i]);
      if (i === 3) td.className = 'sev-' + ev.severity;
      if (i === 6) td.title = ev.excerpt || '';
      tr.appendChild(td);
    }
    var body = $('flagged').tBodies[0];
    if (atEnd) body.appendChild(tr); else body.insertBefore(tr, body.firstChild);
    while (body.rows.length > MAX_FLAGGED) {
      var last = body.rows[body.rows.length - 1];
      flaggedSeen.delete(last.dataset.eventId);
      last.remove();
    }
  }

  function loadFlagged() {
    return api('/control/flagged?limit=100').then(function (r) {
      var evs = (r && r.events) || [];
      for (var i = 0; i < evs.length; i++) addFlagged(evs[i], true);
    });
  }

  // ---------- stats and memory ----------
  function renderStats(s) {
    if (!s) return;
    if (s.sessions) {
      $('stat-active').textContent = s.sessions.active;
      $('stat-total').textContent = s.sessions.total;
      $('stat-killed').textContent = s.sessions.killed;
    }
    if (s.requests) {
      $('stat-requests').textContent = s.requests.total;
      $('stat-blocked').textContent = s.requests.blocked;
    }
    if (s.memory && s.memory.pressure) setPressure(s.memory.pressure);
  }

  function setPressure(level) {
    var p = $('stat-pressure');
    p.textContent = level;
    p.dataset.level = level;
  }

  function renderMemory(m) {
    if (!m || !m.components) return;
    setPressure(m.pressure);
    var ratio = m.limit_bytes > 0 ? m.rss_bytes / m.limit_bytes : 0;
    state.memory.push({ at: Date.now(), ratio: ratio, level: m.pressure });
    if (state.memory.length > HISTORY) state.memory.shift();
    $('memory-summary').textContent = 'RSS ' + bytes(m.rss_bytes) + ' of ' + bytes(m.limit_bytes) + ' (' + Math.round(ratio * 100) + '%), pressure ' + m.pressure;
    drawChart();
    var body = $('memory-components').tBodies[0];
    body.textContent = '';
    var names = Object.keys(m.components).sort(function (a, b) { return m.components[b].bytes - m.components[a].bytes; });
    for (var i = 0; i < names.length; i++) {
      var c = m.components[names[i]];
      var tr = document.createElement('tr');
      tr.dataset.component = names[i];
      tr.appendChild(el('td', names[i]));
      tr.appendChild(el('td', bytes(c.bytes), 'num'));
      tr.appendChild(el('td', c.count === undefined ? '' : c.count, 'num'));
      var bar = el('td');
      var s = svg('svg', { viewBox: '0 0 100 8', preserveAspectRatio: 'none' });
      var w = m.rss_bytes > 0 ? Math.min(100, (c.bytes / m.rss_bytes) * 100) : 0;
      s.appendChild(svg('rect', { x: 0, y: 0, width: w.toFixed(2), height: 8, fill: '#2f6fd2' }));
      bar.appendChild(s);
      tr.appendChild(bar);
      body.appendChild(tr);
    }
  }

  var LEVEL_COLOR = { normal: '#2e9d57', warning: '#d99100', critical: '#d2372f' };
  function drawChart() {
    var W = HISTORY * 5, H = 100;
    var s = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, preserveAspectRatio: 'none', role: 'img' });
    // guide lines at the default warning (80%) and critical (95%) thresholds
    [0.8, 0.95].forEach(function (t) {
      s.appendChild(svg('line', { x1: 0, x2: W, y1: H - t * H, y2: H - t * H, stroke: '#888', 'stroke-dasharray': '4 4', 'stroke-width': 0.5 }));
    });
    var pts = state.memory;
    var x0 = W - pts.length * 5;
    for (var i = 0; i < pts.length; i++) {
      var h = Math.max(1, Math.min(1, pts[i].ratio) * H);
      var r = svg('rect', { x: x0 + i * 5, y: H - h, width: 4, height: h, fill: LEVEL_COLOR[pts[i].level] || '#888' });
      r.setAttribute('data-level', pts[i].level);
      s.appendChild(r);
    }
    var box = $('memory-chart');
    box.textContent = '';
    box.appendChild(s);
  }

  function slowRefresh() {
    var gen = state.generation;
    var jobs = [api('/control/stats').then(renderStats)];
    // the open session's counters move with every request; one call per refresh keeps them true
    var sel = state.selected;
    if (sel) jobs.push(api('/control/sessions/' + encodeURIComponent(sel)).then(function (v) { if (state.selected === sel) upsert(v); }));
    // memory from the timer only while the stream is not already sending it
    if (Date.now() - state.memoryFromStream > SLOW_REFRESH_MS * 2) jobs.push(optional('memory-summary', api('/control/memory').then(renderMemory)));
    Promise.all(jobs.map(function (j) { return j.catch(report); })).then(function () {
      if (gen === state.generation) state.slowTimer = setTimeout(slowRefresh, SLOW_REFRESH_MS);
    });
  }

  // ---------- the event stream ----------
  // A small Server-Sent Events reader over fetch(): fields per the HTML spec, comments ignored,
  // an event dispatched at each blank line.
  function connectEvents(gen, delay) {
    if (gen !== state.generation) return;
    var ctrl = new AbortController();
    state.stream = ctrl;
    var lastId = state.lastEventId;
    var h = headers({ 'Accept': 'text/event-stream' });
    if (lastId) h['Last-Event-ID'] = lastId;
    fetch('/control/events', { headers: h, signal: ctrl.signal, cache: 'no-store' }).then(function (res) {
      if (res.status === 401) { needAuth(); return; }
      if (!res.ok || !res.body) throw new Error('event stream answered ' + res.status);
      setStatus('live', 'live');
      delay = 1000;
      var reader = res.body.getReader();
      var decoder = new TextDecoder();
      var buf = '';
      var ev = { type: '', data: [], id: null };
      function line(l) {
        if (l === '') {
          if (ev.data.length > 0) dispatch(ev.type || 'message', ev.data.join('\n'));
          if (ev.id !== null) state.lastEventId = ev.id;
          ev = { type: '', data: [], id: null };
          return;
        }
        if (l.charAt(0) === ':') return;
        var i = l.indexOf(':');
        var field = i < 0 ? l : l.slice(0, i);
        var value = i < 0 ? '' : l.slice(i + 1);
        if (value.charAt(0) === ' ') value = value.slice(1);
        if (field === 'data') ev.data.push(value);
        else if (field === 'event') ev.type = value;
        else if (field === 'id') ev.id = value;
      }
      function pump() {
        return reader.read().then(function (r) {
          if (r.done) throw new Error('event stream ended');
          buf += decoder.decode(r.value, { stream: true });
          var m;
          var re = /\r\n|\r|\n/g;
          var start = 0;
          // a lone \r at the end may be half of \r\n: keep it for the next chunk
          while ((m = re.exec(buf)) !== null) {
            if (m[0] === '\r' && m.index === buf.length - 1) break;
            line(buf.slice(start, m.index));
            start = re.lastIndex;
          }
          buf = buf.slice(start);
          return pump();
        });
      }
      return pump();
    }).catch(function (err) {
      if (gen !== state.generation || (err && err.name === 'AbortError')) return;
      setStatus('connecting', 'reconnecting… (' + (err && err.message ? err.message : 'stream lost') + ')');
      setTimeout(function () { connectEvents(gen, Math.min(10000, delay * 2)); }, delay);
    });
  }

  function dispatch(type, data) {
    var ev;
    try { ev = JSON.parse(data); } catch (e) { return; }
    if (!ev || typeof ev !== 'object') return;
    var kind = ev.kind || type;
    // the server dropped frames for this slow page: what the list shows may be stale
    if (type === 'dropped') { loadSessions().catch(report); return; }
    if (kind === 'memory') { state.memoryFromStream = Date.now(); renderMemory(ev.memory || ev); return; }
    if (kind === 'stats') { renderStats(ev.stats || ev); return; }
    if (kind === 'policy' || ev.rule) {
      addFlagged(ev, false);
      if (ev.session_id) {
        addSessionEvent(ev.session_id, ev);
        var row = state.rows.get(ev.session_id);
        if (row) upsert({ id: ev.session_id, flags: (row.view.flags || 0) + 1 });
        else queueFetch(ev.session_id);
      }
      return;
    }
    if (kind === 'session' && ev.session_id) {
      addSessionEvent(ev.session_id, ev);
      var t = ev.type;
      if (t === 'started') { queueFetch(ev.session_id); return; }
      if (ev.summary && state.rows.has(ev.session_id)) upsert(ev.summary);
      var map = { killed: 'killed', resumed: 'active', terminated: 'terminated', idle: 'idle', completed: 'completed' };
      if (map[t]) setSessionState(ev.session_id, map[t]);
    }
  }

  // ---------- start, stop ----------
  function stopAll() {
    state.generation++;
    if (state.stream) { state.stream.abort(); state.stream = null; }
    clearTimeout(state.slowTimer);
  }

  function start() {
    stopAll();
    var gen = state.generation;
    $('auth').hidden = true;
    $('app').hidden = false;
    setStatus('connecting', 'connecting…');
    // the stats call doubles as the token check before anything else is asked
    api('/control/stats').then(function (s) {
      if (gen !== state.generation) return;
      $('notice').hidden = true;
      renderStats(s);
      connectEvents(gen, 1000);
      var jobs = [loadSessions(), optional('flagged-note', loadFlagged()), optional('memory-summary', api('/control/memory').then(renderMemory))];
      return Promise.all(jobs.map(function (j) { return j.catch(report); })).then(function () {
        if (gen === state.generation) state.slowTimer = setTimeout(slowRefresh, SLOW_REFRESH_MS);
      });
    }).catch(report);
  }

  document.addEventListener('DOMContentLoaded', function () {
    $('token-form').addEventListener('submit', function (e) {
      e.preventDefault();
      var t = $('token-input').value.trim();
      if (!t) return;
      setToken(t);
      $('auth-message').textContent = '';
      start();
    });
    $('sessions').addEventListener('click', function (e) {
      var b = e.target.closest('button[data-action]');
      if (b) { e.stopPropagation(); act(b.dataset.action, b.dataset.sessionId, b); return; }
      var tr = e.target.closest('tr[data-session-id]');
      if (tr) openDetail(tr.dataset.sessionId);
    });
    $('detail-close').addEventListener('click', closeDetail);
    $('reload').addEventListener('click', function () { loadSessions().catch(report); });
    $('filter').addEventListener('input', function () { state.rows.forEach(applyFilter); });
    // relative times drift; re-render them now and then without asking the server
    setInterval(function () { state.rows.forEach(renderRow); }, 15000);
    start();
  });
})();
`;
