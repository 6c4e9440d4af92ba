// The dashboard script: the sessions table. Rows are updated in place and bounded to MAX_ROWS;
// sessions the stream announces are fetched in batches; the kill and resume buttons.
// One piece of the script that ../app.ts assembles; the pieces share one function scope.
export const SESSIONS_JS = String.raw`  // ---------- sessions table ----------
  var COLUMNS = [
    ['id', function (v) { return v.id; }, ''],
    ['state', function (v) { return v.state; }, ''],
    ['upstream', function (v) { return v.upstream || '-'; }, ''],
    ['client_ip', function (v) { return v.client_ip || '-'; }, ''],
    ['requests', function (v) { return v.requests; }, 'num'],
    ['bytes_in', function (v) { return bytes(v.bytes_in); }, 'num'],
    ['bytes_out', function (v) { return bytes(v.bytes_out); }, 'num'],
    ['flags', function (v) { return v.flags; }, 'num'],
    ['agent', function (v) { return v.agent || '-'; }, ''],
    ['cost_usd', function (v) { return usd(v.cost_usd); }, 'num'],
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

`;
