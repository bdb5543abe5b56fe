// civicflow task page: shows the task's form with the form-js viewer
// (vendor/form-js, window.FormViewer) instead of the plain fields, and
// submits its data as JSON in the page's own form (POST, with the CSRF
// field). The server validates and answers in French; its errors are put
// back next to their fields. Without JavaScript the plain fields work.
(function () {
  'use strict';
  function componentsByKey(schema) {
    var out = {};
    (function walk(cs) {
      (cs || []).forEach(function (c) {
        if (c.key) { out[c.key] = c; }
        if (c.path) { out[c.path] = c; }
        walk(c.components);
      });
    })(schema.components);
    return out;
  }
  function start() {
    var form = document.getElementById('task-form');
    var mount = document.getElementById('form-viewer');
    if (!form || !mount || !window.FormViewer || !window.FormViewer.Form) { return; }
    var schema, values, problems;
    try {
      schema = JSON.parse(form.getAttribute('data-schema') || 'null');
      values = JSON.parse(form.getAttribute('data-values') || '{}');
      problems = JSON.parse(form.getAttribute('data-problems') || '[]');
    } catch (e) { return; }
    if (!schema || !schema.components) { return; }
    // Schemas written by hand may lack the root's type (form-js needs it).
    if (!schema.type) { schema.type = 'default'; }
    var viewer = new window.FormViewer.Form({ container: mount });
    viewer.importSchema(schema, values).then(function () {
      var plain = document.getElementById('plain-fields');
      if (plain) { plain.parentNode.removeChild(plain); }
      mount.hidden = false;
      form.setAttribute('data-viewer', 'ready');
      var byKey = componentsByKey(schema), errors = {}, any = false;
      problems.forEach(function (p) {
        var c = p.field && byKey[p.field];
        if (c && c.id) { (errors[c.id] = errors[c.id] || []).push(p.fr); any = true; }
      });
      if (any && viewer._setState) { viewer._setState({ errors: errors }); }
      var first = mount.querySelector('[aria-invalid="true"]');
      if (first) { first.focus(); }
    }).catch(function (err) {
      mount.hidden = true;
      if (window.console) { window.console.warn('form-js:', err); }
    });
    form.addEventListener('submit', function (ev) {
      if (form.getAttribute('data-viewer') !== 'ready') { return; }
      var data = viewer._getSubmitData ? viewer._getSubmitData() : viewer.submit().data;
      document.getElementById('task-data').value = JSON.stringify(data || {});
      // The server checks the data and explains, in French, what to fix.
      ev.stopPropagation();
    });
  }
  // Inbox: after a claim or an unclaim (htmx swaps the row), say what
  // happened to screen readers and give the focus to the row's new button.
  document.addEventListener('inboxStatus', function (ev) {
    var status = document.getElementById('inbox-status');
    if (status && ev.detail && ev.detail.value) { status.textContent = ev.detail.value; }
  });
  document.addEventListener('htmx:afterSwap', function (ev) {
    var row = ev.detail && ev.detail.elt;
    if (!row || !row.closest) { return; }
    var swapped = document.getElementById(row.id) || row;
    var btn = swapped.querySelector && (swapped.querySelector('button') || swapped.querySelector('a'));
    if (btn) { btn.focus(); }
  });
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
