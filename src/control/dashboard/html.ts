// The dashboard page. No inline script or style (the CSP forbids both), nothing from outside.
// Stable ids and data attributes are part of its contract with the end-to-end test.
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>cordon</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/dashboard/app.css">
<script src="/dashboard/app.js" defer></script>
</head>
<body>
<header>
  <h1>cordon</h1>
  <span id="conn-status" data-state="connecting">connecting…</span>
  <dl id="stats">
    <div><dt>active</dt><dd id="stat-active">-</dd></div>
    <div><dt>sessions</dt><dd id="stat-total">-</dd></div>
    <div><dt>killed</dt><dd id="stat-killed">-</dd></div>
    <div><dt>requests</dt><dd id="stat-requests">-</dd></div>
    <div><dt>blocked</dt><dd id="stat-blocked">-</dd></div>
    <div><dt>pressure</dt><dd id="stat-pressure">-</dd></div>
  </dl>
</header>

<p id="notice" role="status" hidden></p>

<section id="auth" hidden>
  <form id="token-form" autocomplete="off">
    <label for="token-input">Control token</label>
    <input id="token-input" name="token" type="password" autocomplete="off" required spellcheck="false">
    <button id="token-submit" type="submit">Connect</button>
    <p id="auth-message" role="alert"></p>
    <p class="hint">The token is CORDON_CONTROL_TOKEN of the gateway. It is kept in this tab only (sessionStorage).</p>
  </form>
</section>

<main id="app">
  <div class="col">
  <section id="approvals-panel">
    <div class="panel-head"><h2>Tool calls waiting for approval</h2><span id="approvals-count"></span></div>
    <table id="approvals">
      <thead><tr><th>at</th><th>session</th><th>tool</th><th>arguments</th><th>rule</th><th></th></tr></thead>
      <tbody></tbody>
    </table>
    <p id="approvals-empty" class="empty">No tool call is waiting.</p>
  </section>

  <section id="sessions-panel">
    <div class="panel-head">
      <h2>Sessions</h2>
      <input id="filter" type="search" placeholder="filter by id or state" spellcheck="false">
      <button id="reload" type="button">Reload</button>
      <span id="sessions-count"></span>
    </div>
    <table id="sessions">
      <thead><tr><th>ID</th><th>state</th><th>upstream</th><th>client</th><th class="num">reqs</th><th class="num">in</th><th class="num">out</th><th class="num">flags</th><th>agent</th><th class="num"><button id="sort-cost" type="button" title="sort by cost, most first">cost $</button></th><th>last seen</th><th></th></tr></thead>
      <tbody></tbody>
    </table>
    <p id="sessions-empty" class="empty">No sessions yet.</p>
  </section>

  <section id="agents-panel">
    <h2>Agents</h2>
    <table id="agents">
      <thead><tr><th>agent</th><th>team</th><th>state</th><th class="num">sessions</th><th class="num">reqs</th><th class="num">tokens</th><th class="num">cost $</th><th></th></tr></thead>
      <tbody></tbody>
    </table>
    <p id="agents-empty" class="empty">No agents yet (agents come from API keys).</p>
  </section>

  <section id="flagged-panel">
    <h2>Flagged events</h2>
    <p id="flagged-note" class="empty"></p>
    <table id="flagged">
      <thead><tr><th>at</th><th>session</th><th>rule</th><th>severity</th><th>action</th><th>dir</th><th>excerpt</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
  </div>

  <div class="col">
  <section id="detail" hidden>
    <div class="panel-head"><h2>Session <span id="detail-id"></span></h2><button id="detail-close" type="button">Close</button></div>
    <dl id="detail-fields"></dl>
    <h3>Events</h3>
    <ol id="detail-events"></ol>
  </section>

  <section id="memory-panel">
    <h2>Memory</h2>
    <p id="memory-summary"></p>
    <div id="memory-chart" aria-label="memory use and pressure level over time"></div>
    <p class="legend"><span class="lv normal">normal</span> <span class="lv warning">warning</span> <span class="lv critical">critical</span> · bar height = RSS / limit</p>
    <table id="memory-components"><thead><tr><th>component</th><th class="num">bytes</th><th class="num">count</th><th></th></tr></thead><tbody></tbody></table>
  </section>

  </div>
</main>
</body>
</html>
`;
