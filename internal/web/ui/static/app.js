// civicflow staff pages: small progressive enhancements (no inline
// scripts: the Content-Security-Policy allows only script-src 'self').
(function () {
  'use strict';
  // Bring the first error into view and focus: screen readers read it.
  function focusFirstError() {
    var err = document.querySelector('[aria-invalid="true"]') || document.querySelector('.alert-error');
    if (!err) { return; }
    if (err.classList.contains('alert-error')) { err.setAttribute('tabindex', '-1'); }
    err.focus();
  }
  // Forms with data-confirm ask before submitting ("Supprimer ce rôle ?").
  document.addEventListener('submit', function (ev) {
    var f = ev.target;
    var msg = f && f.getAttribute && f.getAttribute('data-confirm');
    if (msg && !window.confirm(msg)) { ev.preventDefault(); }
  }, true);
  // Escape closes an open user menu.
  document.addEventListener('keydown', function (ev) {
    if (ev.key !== 'Escape') { return; }
    var open = document.querySelector('.user-menu details[open]');
    if (open) { open.removeAttribute('open'); open.querySelector('summary').focus(); }
  });
  // A table wider than the screen scrolls in its .table-wrap: keyboard
  // users reach it with Tab (RGAA 7.3, axe scrollable-region-focusable),
  // and screen readers name it after the table's caption.
  function scrollableTables() {
    Array.prototype.forEach.call(document.querySelectorAll('.table-wrap'), function (w) {
      if (w.scrollWidth <= w.clientWidth + 1 && w.scrollHeight <= w.clientHeight + 1) { return; }
      w.setAttribute('tabindex', '0');
      w.setAttribute('role', 'region');
      var cap = w.querySelector('caption');
      w.setAttribute('aria-label', (cap && cap.textContent.trim()) || 'Tableau défilant');
    });
  }
  document.addEventListener('htmx:afterSettle', scrollableTables);
  function ready() {
    focusFirstError();
    scrollableTables();
  }
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', ready);
  } else {
    ready();
  }
})();
