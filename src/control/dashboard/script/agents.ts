// The dashboard script: the agents panel (per agent: state, sessions, tokens, cost; kill and resume
// by agent) and the sessions table's sort by cost.
// One piece of the script that ../app.ts assembles; the pieces share one function scope.
export const AGENTS_JS = String.raw`  // ---------- agents ----------
  function usd(n) {
    if (typeof n !== 'number' || !isFinite(n)) return '-';
    if (n === 0) return '0';
    return n >= 1 ? n.toFixed(2) : n.toPrecision(3);
  }

  function loadAgents() {
    return api('/control/agents').then(function (r) {
      var list = (r && r.agents) || [];
      list.sort(function (a, b) { return b.cost_usd - a.cost_usd; });
      var body = $('agents').tBodies[0];
      body.textContent = '';
      $('agents-empty').hidden = list.length > 0;
      for (var i = 0; i < list.length; i++) {
        var a = list[i];
        var tr = document.createElement('tr');
        tr.dataset.agent = a.agent;
        tr.dataset.state = a.state;
        var cells = [[a.agent, ''], [a.team || '-', ''], [a.state, ''], [a.sessions, 'num'], [a.requests, 'num'], [a.tokens_in + a.tokens_out, 'num'], [usd(a.cost_usd), 'num']];
        for (var j = 0; j < cells.length; j++) tr.appendChild(el('td', String(cells[j][0]), cells[j][1]));
        var td = el('td');
        var b = el('button', a.state === 'killed' ? 'Resume' : 'Kill');
        b.type = 'button';
        b.dataset.agentAction = a.state === 'killed' ? 'resume' : 'kill';
        b.dataset.agent = a.agent;
        td.appendChild(b);
        tr.appendChild(td);
        body.appendChild(tr);
      }
    });
  }

  function agentAct(action, agent, button) {
    button.disabled = true;
    api('/control/agents/' + encodeURIComponent(agent) + '/' + action, 'POST').then(function () {
      return loadAgents();
    }).catch(report).then(function () { button.disabled = false; });
  }

  // sessions by cost, most first: the rows move, the table keeps its other behaviour
  function sortSessionsByCost() {
    var body = $('sessions').tBodies[0];
    var rows = [];
    state.rows.forEach(function (r) { rows.push(r); });
    rows.sort(function (a, b) { return (b.view.cost_usd || 0) - (a.view.cost_usd || 0); });
    for (var i = 0; i < rows.length; i++) body.appendChild(rows[i].tr);
  }
`;
