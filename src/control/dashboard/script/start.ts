// The dashboard script: start and stop (a generation counter retires old timers and streams),
// and the page's event listeners.
// One piece of the script that ../app.ts assembles; the pieces share one function scope.
export const START_JS = String.raw`  // ---------- start, stop ----------
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
      var jobs = [loadSessions(), optional('agents-empty', loadAgents()), optional('approvals-empty', loadApprovals()), optional('flagged-note', loadFlagged()), optional('memory-summary', api('/control/memory').then(renderMemory))];
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
    $('approvals').addEventListener('click', function (e) {
      var b = e.target.closest('button[data-approval-id]');
      if (b) decideApproval(b.dataset.approvalId, b.dataset.action, b);
    });
    setInterval(sweepApprovals, 1000);
    $('detail-close').addEventListener('click', closeDetail);
    $('sort-cost').addEventListener('click', function (e) { e.stopPropagation(); sortSessionsByCost(); });
    $('agents').addEventListener('click', function (e) {
      var b = e.target.closest('button[data-agent-action]');
      if (b) agentAct(b.dataset.agentAction, b.dataset.agent, b);
    });
    $('reload').addEventListener('click', function () { loadSessions().catch(report); });
    $('filter').addEventListener('input', function () { state.rows.forEach(applyFilter); });
    // relative times drift; re-render them now and then without asking the server
    setInterval(function () { state.rows.forEach(renderRow); }, 15000);
    start();
  });
`;
