// The dashboard script: the stats header, the memory summary, chart and components, and the
// slow refresh timer.
// One piece of the script that ../app.ts assembles; the pieces share one function scope.
export const MEMORY_JS = String.raw`  // ---------- stats and memory ----------
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
    var jobs = [api('/control/stats').then(renderStats), optional('agents-empty', loadAgents())];
    // the open session's counters move with every request; one call per refresh keeps them true
    var sel = state.selected;
    if (sel) jobs.push(api('/control/sessions/' + encodeURIComponent(sel)).then(function (v) { if (state.selected === sel) upsert(v); }));
    // memory from the timer only while the stream is not already sending it
    if (Date.now() - state.memoryFromStream > SLOW_REFRESH_MS * 2) jobs.push(optional('memory-summary', api('/control/memory').then(renderMemory)));
    Promise.all(jobs.map(function (j) { return j.catch(report); })).then(function () {
      if (gen === state.generation) state.slowTimer = setTimeout(slowRefresh, SLOW_REFRESH_MS);
    });
  }

`;
