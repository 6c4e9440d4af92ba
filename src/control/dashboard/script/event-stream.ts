// The dashboard script: the Server-Sent Events reader over fetch(), and the dispatch of each
// event to the panels.
// One piece of the script that ../app.ts assembles; the pieces share one function scope.
export const EVENT_STREAM_JS = String.raw`  // ---------- the event stream ----------
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
    if (kind === 'approval') { onApprovalEvent(ev); return; }
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

`;
