// The request page's diagram: bpmn-js's navigated viewer (vendored,
// global BpmnJS) shows the flow version, with the nodes the request went
// through (cf-done), those it is at (cf-active) and those stopped on an
// incident (cf-failed). No inline script: the page gives the diagram's URL
// and marks as data attributes.
(function () {
  'use strict';
  function show(el) {
    var marks = {};
    try { marks = JSON.parse(el.getAttribute('data-marks') || '{}'); } catch (e) { marks = {}; }
    fetch(el.getAttribute('data-src'), { credentials: 'same-origin', headers: { Accept: 'application/xml' } })
      .then(function (res) {
        if (!res.ok) { throw new Error('HTTP ' + res.status); }
        return res.text();
      })
      .then(function (xml) {
        el.innerHTML = '';
        var viewer = new window.BpmnJS({ container: el });
        return viewer.importXML(xml).then(function () {
          var canvas = viewer.get('canvas');
          var registry = viewer.get('elementRegistry');
          canvas.zoom('fit-viewport', 'auto');
          [['done', 'cf-done'], ['active', 'cf-active'], ['failed', 'cf-failed']].forEach(function (m) {
            (marks[m[0]] || []).forEach(function (id) {
              if (registry.get(id)) { canvas.addMarker(id, m[1]); }
            });
          });
          el.setAttribute('data-ready', 'true');
        });
      })
      .catch(function () {
        el.innerHTML = '<p class="alert alert-warning">Le schéma n\u2019a pas pu être affiché.</p>';
        el.setAttribute('data-ready', 'error');
      });
  }
  function init() {
    var el = document.getElementById('diagram');
    if (el && window.BpmnJS) { show(el); }
  }
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
