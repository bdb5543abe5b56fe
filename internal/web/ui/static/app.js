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
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', focusFirstError);
  } else {
    focusFirstError();
  }
})();
