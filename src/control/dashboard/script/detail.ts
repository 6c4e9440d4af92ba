// The dashboard script: the detail panel of one session, its fields and its bounded event list.
// One piece of the script that ../app.ts assembles; the pieces share one function scope.
export const DETAIL_JS = String.raw`  // ---------- detail ----------
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

`;
