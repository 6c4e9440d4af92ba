// The dashboard script: byte sizes, relative times and clock times for display.
// One piece of the script that ../app.ts assembles; the pieces share one function scope.
export const FORMAT_JS = String.raw`  // ---------- formatting ----------
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

`;
