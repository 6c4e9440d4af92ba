// The dashboard script: the flagged-events table, bounded to MAX_FLAGGED, each event shown once.
// One piece of the script that ../app.ts assembles; the pieces share one function scope.
export const FLAGGED_JS = String.raw`  // ---------- flagged ----------
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

`;
