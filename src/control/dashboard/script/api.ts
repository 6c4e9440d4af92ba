// The dashboard script: the control token (kept in sessionStorage), authorised fetch() of the
// control API, the token prompt on a 401, the connection badge and the error notice line.
// One piece of the script that ../app.ts assembles; the pieces share one function scope.
export const API_JS = String.raw`  // ---------- token and API ----------
  function token() { try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch (e) { return ''; } }
  function setToken(t) { try { if (t) sessionStorage.setItem(TOKEN_KEY, t); else sessionStorage.removeItem(TOKEN_KEY); } catch (e) {} }
  function headers(extra) {
    var h = extra || {};
    h['X-Cordon-Dashboard'] = '1'; // a custom header: the control API's cross-site guard knows it as ours
    var t = token();
    if (t) h['Authorization'] = 'Bearer ' + t;
    return h;
  }

  function AuthError() { this.name = 'AuthError'; this.message = 'unauthorized'; }

  function api(path, method) {
    return fetch(path, { method: method || 'GET', headers: headers({ 'Accept': 'application/json' }), cache: 'no-store' }).then(function (res) {
      if (res.status === 401) { needAuth(); throw new AuthError(); }
      return res.text().then(function (text) {
        var body = null;
        try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
        if (!res.ok) {
          var msg = body && body.error && body.error.message ? body.error.message : ('HTTP ' + res.status);
          var err = new Error(msg); err.status = res.status; throw err;
        }
        return body;
      });
    });
  }

  function needAuth() {
    var had = token() !== '';
    stopAll();
    setStatus('auth', 'token needed');
    $('app').hidden = true;
    $('auth').hidden = false;
    $('auth-message').textContent = had
      ? 'The control API refused this token. Check CORDON_CONTROL_TOKEN and try again.'
      : 'This gateway requires its control token.';
    if (had) setToken('');
    var input = $('token-input');
    input.value = '';
    input.focus();
  }

  function setStatus(s, text) {
    var e = $('conn-status');
    e.dataset.state = s;
    e.textContent = text;
  }

  // errors go to the notice line; the status badge only tells the state of the event stream
  function report(err) {
    if (err instanceof AuthError) return;
    var n = $('notice');
    n.textContent = 'error: ' + (err && err.message ? err.message : String(err));
    n.hidden = false;
    clearTimeout(state.noticeTimer);
    state.noticeTimer = setTimeout(function () { n.hidden = true; }, 10000);
  }

  // a part of the API this gateway does not serve (404) leaves its panel with a note, not an error
  function optional(panel, p) {
    return p.catch(function (err) {
      if (err && err.status === 404) { $(panel).textContent = 'not available on this gateway'; return; }
      throw err;
    });
  }

`;
