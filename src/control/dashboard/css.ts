// Styles for the dashboard: system fonts only, light and dark schemes.
export const DASHBOARD_CSS = `
:root { color-scheme: light dark; --bg: #fafafa; --fg: #1d1d1f; --muted: #6b6b70; --line: #dcdce0; --panel: #fff;
  --normal: #2e9d57; --warning: #d99100; --critical: #d2372f; --accent: #2f6fd2; }
@media (prefers-color-scheme: dark) { :root { --bg: #151517; --fg: #e8e8ea; --muted: #9a9aa2; --line: #333338; --panel: #1d1d20; } }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; font: 13px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: var(--bg); color: var(--fg); }
header { display: flex; align-items: center; gap: 16px; padding: 10px 16px; border-bottom: 1px solid var(--line); background: var(--panel); flex-wrap: wrap; }
h1 { font-size: 18px; margin: 0; letter-spacing: .5px; }
h2 { font-size: 14px; margin: 0 8px 0 0; }
h3 { font-size: 13px; margin: 12px 0 4px; }
#conn-status { font-size: 12px; padding: 2px 8px; border-radius: 10px; border: 1px solid var(--line); color: var(--muted); }
#conn-status[data-state="live"] { color: var(--normal); border-color: var(--normal); }
#conn-status[data-state="auth"], #conn-status[data-state="error"] { color: var(--critical); border-color: var(--critical); }
#stats { display: flex; gap: 14px; margin: 0 0 0 auto; }
#stats div { text-align: right; }
#stats dt { font-size: 11px; color: var(--muted); }
#stats dd { margin: 0; font-weight: 600; font-variant-numeric: tabular-nums; }
main { display: grid; grid-template-columns: minmax(0, 2fr) minmax(320px, 1fr); gap: 12px; padding: 12px; align-items: start; }
section { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; min-width: 0; }
main > .col { display: flex; flex-direction: column; gap: 12px; min-width: 0; }
#notice { margin: 8px 12px 0; padding: 6px 10px; border: 1px solid var(--critical); border-radius: 4px; color: var(--critical); background: var(--panel); }
#auth { max-width: 420px; margin: 40px auto; }
#auth label { display: block; font-weight: 600; margin-bottom: 6px; }
#auth input { width: 100%; padding: 6px; margin-bottom: 8px; }
#auth-message { color: var(--critical); min-height: 1.4em; margin: 6px 0; }
.hint, .empty, .legend { color: var(--muted); font-size: 12px; }
.panel-head { display: flex; align-items: center; gap: 8px; margin-bottom: 8px; }
.panel-head #sessions-count { color: var(--muted); margin-left: auto; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: 3px 6px; border-bottom: 1px solid var(--line); white-space: nowrap; overflow: hidden; text-overflow: ellipsis; max-width: 260px; }
th { font-size: 11px; color: var(--muted); font-weight: 600; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
#sessions tbody tr { cursor: pointer; }
#sessions tbody tr:hover, #sessions tbody tr.selected { background: rgba(47, 111, 210, .08); }
td[data-field="state"] { font-weight: 600; }
tr[data-state="killed"] td[data-field="state"], tr[data-state="terminated"] td[data-field="state"] { color: var(--critical); }
tr[data-state="idle"] td[data-field="state"], tr[data-state="completed"] td[data-field="state"] { color: var(--muted); }
button { font: inherit; padding: 2px 10px; border: 1px solid var(--line); border-radius: 4px; background: transparent; color: inherit; cursor: pointer; }
button:disabled { opacity: .35; cursor: default; }
button[data-action="kill"]:not(:disabled) { border-color: var(--critical); color: var(--critical); }
button[data-action="resume"]:not(:disabled) { border-color: var(--normal); color: var(--normal); }
button[data-action="approve"]:not(:disabled) { border-color: var(--normal); color: var(--normal); margin-right: 4px; }
button[data-action="deny"]:not(:disabled) { border-color: var(--critical); color: var(--critical); }
#approvals td.args { font-family: ui-monospace, monospace; max-width: 28em; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
#filter { padding: 2px 6px; }
#detail-fields { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0; }
#detail-fields dt { color: var(--muted); }
#detail-fields dd { margin: 0; overflow-wrap: anywhere; }
#detail-events { margin: 0; padding-left: 18px; max-height: 320px; overflow: auto; font-size: 12px; }
#detail-events li { margin-bottom: 3px; overflow-wrap: anywhere; }
#flagged td:last-child { max-width: 420px; font-family: ui-monospace, monospace; font-size: 12px; }
.sev-critical, .sev-high { color: var(--critical); font-weight: 600; }
.sev-medium { color: var(--warning); }
#memory-chart svg { width: 100%; height: 120px; display: block; border: 1px solid var(--line); border-radius: 4px; }
.lv::before { content: ""; display: inline-block; width: 9px; height: 9px; margin-right: 3px; border-radius: 2px; }
.lv.normal::before { background: var(--normal); } .lv.warning::before { background: var(--warning); } .lv.critical::before { background: var(--critical); }
#memory-components svg { width: 100px; height: 8px; }
#stat-pressure[data-level="warning"] { color: var(--warning); } #stat-pressure[data-level="critical"] { color: var(--critical); }
@media (max-width: 900px) { main { grid-template-columns: 1fr; } }
`;
