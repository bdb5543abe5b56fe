// The try-it view of /developers/api/{id}: the vendored Swagger UI
// (window.SwaggerUIBundle) renders the dataset's OpenAPI document named by
// data-url, with "Try it out" on, so that each operation runs for real on
// the public API. Here rather than inline: the CSP allows no inline script.
(function () {
  'use strict';
  function start() {
    var root = document.getElementById('developers-tryit');
    if (!root) { return; }
    if (!window.SwaggerUIBundle) {
      root.textContent = 'L\u2019outil d\u2019essai n\u2019a pas pu être chargé ; le document OpenAPI reste lisible.';
      return;
    }
    root.innerHTML = '';
    window.developersTryIt = window.SwaggerUIBundle({
      url: root.getAttribute('data-url'),
      domNode: root,
      deepLinking: false,
      tryItOutEnabled: true,
      displayRequestDuration: true,
      defaultModelsExpandDepth: 0,
      docExpansion: 'list',
      validatorUrl: null, // no call to an outside validator
      supportedSubmitMethods: ['get']
    });
  }
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
