// The dashboard script: tool calls held for approval, with approve and deny buttons. Rows come
// from /control/approvals at start and from `approval` events on the live stream; a decision or a
// timeout (from any instance) removes the row. One piece of the script that ../app.ts assembles.
export const APPROVALS_JS = String.raw`  // ---------- approvals ----------
  var approvalRows = new Map();
  function addApproval(a) {
    if (!a || !a.id || approvalRows.has(a.id)) return;
    var tr = document.createElement('tr');
    tr.dataset.approvalId = a.id;
    tr.dataset.expires = String(Date.parse(a.expires_at) || 0);
    var cells = [clock(a.at), a.session_id, a.tool, a.arguments_excerpt, a.rule];
    for (var i = 0; i < cells.length; i++) {
      var td = el('td', cells[i] === undefined || cells[i] === null ? '' : String(cells[i]));
      if (i === 3) { td.title = a.arguments_excerpt || ''; td.className = 'args'; }
      tr.appendChild(td);
    }
    var actions = document.createElement('td');
    ['approve', 'deny'].forEach(function (what) {
      var b = el('button', what);
      b.type = 'button';
      b.dataset.action = what;
      b.dataset.approvalId = a.id;
      actions.appendChild(b);
    });
    tr.appendChild(actions);
    approvalRows.set(a.id, tr);
    $('approvals').tBodies[0].appendChild(tr);
    renderApprovalCount();
  }

  function removeApproval(id) {
    var tr = approvalRows.get(id);
    if (!tr) return;
    approvalRows.delete(id);
    tr.remove();
    renderApprovalCount();
  }

  function renderApprovalCount() {
    var n = approvalRows.size;
    $('approvals-empty').hidden = n > 0;
    $('approvals-count').textContent = n > 0 ? String(n) + ' waiting' : '';
  }

  function decideApproval(id, what, button) {
    button.disabled = true;
    api('/control/approvals/' + encodeURIComponent(id) + '/' + what, 'POST').then(function () {
      removeApproval(id);
    }).catch(function (err) {
      // decided elsewhere or timed out meanwhile: the row is stale either way
      if (err && (err.status === 404 || err.status === 409)) removeApproval(id);
      else button.disabled = false;
      report(err);
    });
  }

  function onApprovalEvent(ev) {
    if (ev.type === 'pending') addApproval(ev.approval);
    else removeApproval(ev.id);
  }

  function loadApprovals() {
    return api('/control/approvals').then(function (r) {
      var list = (r && r.approvals) || [];
      for (var i = 0; i < list.length; i++) addApproval(list[i]);
      renderApprovalCount();
    });
  }

  function sweepApprovals() {
    var now = Date.now();
    approvalRows.forEach(function (tr, id) { if (Number(tr.dataset.expires) > 0 && Number(tr.dataset.expires) <= now) removeApproval(id); });
  }

`;
