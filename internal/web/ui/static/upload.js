// The dataset page's upload: the file goes with XMLHttpRequest so that a
// progress bar shows how much of a large file has been sent; the server's
// answer (a redirect to the dataset page, or the page with the error beside
// the field) then replaces the page. Without JavaScript, the form posts as
// usual.
(function () {
  'use strict';
  function init(form) {
    form.addEventListener('submit', function (ev) {
      var input = form.querySelector('input[type=file]');
      if (!input || !input.files || !input.files.length || !window.FormData) { return; }
      ev.preventDefault();
      var box = form.querySelector('.upload-progress');
      var bar = form.querySelector('progress');
      var pct = form.querySelector('.upload-percent');
      var err = form.querySelector('#upload-error');
      var button = form.querySelector('button[type=submit]');
      box.hidden = false;
      button.disabled = true;
      err.hidden = true;
      var xhr = new XMLHttpRequest();
      xhr.open('POST', form.action);
      var token = form.querySelector('input[name="_csrf"]');
      if (token) { xhr.setRequestHeader('X-CSRF-Token', token.value); }
      xhr.upload.addEventListener('progress', function (e) {
        if (!e.lengthComputable) { return; }
        var p = Math.floor(e.loaded * 100 / e.total);
        bar.value = p;
        pct.textContent = p + ' %';
      });
      xhr.addEventListener('load', function () {
        if (xhr.status < 400 && xhr.responseURL) {
          window.location.assign(xhr.responseURL);
          return;
        }
        var msg = 'Le fichier n\u2019a pas pu être déposé.';
        try {
          var doc = new DOMParser().parseFromString(xhr.responseText, 'text/html');
          var e = doc.getElementById('upload-error');
          var m = (e && e.textContent.trim()) || (doc.querySelector('main p') || {}).textContent;
          if (m) { msg = m.trim(); }
        } catch (x) { /* keep the generic message */ }
        err.textContent = msg;
        err.hidden = false;
        input.setAttribute('aria-invalid', 'true');
        box.hidden = true;
        button.disabled = false;
        input.focus();
      });
      xhr.addEventListener('error', function () {
        err.textContent = 'La connexion a été interrompue pendant l\u2019envoi : réessayez.';
        err.hidden = false;
        box.hidden = true;
        button.disabled = false;
      });
      xhr.send(new FormData(form));
    });
  }
  function start() {
    Array.prototype.forEach.call(document.querySelectorAll('form[data-upload]'), init);
  }
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
