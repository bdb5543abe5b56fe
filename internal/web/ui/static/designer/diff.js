// A flow version, read-only (bpmn-js's navigated viewer, vendored, global
// BpmnJS), with what changed since the previous version: added elements
// outlined in green, changed ones in orange, removed ones listed (they
// are not on this diagram). Elements are compared by id on their BPMN
// content (attributes and extension elements, without the diagram
// layout and the incoming/outgoing references). No inline script: the
// URLs come from data attributes of #diagram.
(function () {
  'use strict';
  var BPMN = 'http://www.omg.org/spec/BPMN/20100524/MODEL';

  function get(url) {
    return fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/xml' } }).then(function (res) {
      if (!res.ok) { throw new Error('HTTP ' + res.status); }
      return res.text();
    });
  }

  // index maps each BPMN element id of the processes to its signature and name.
  function index(xml) {
    var doc = new DOMParser().parseFromString(xml, 'application/xml');
    var out = {};
    var ser = new XMLSerializer();
    var all = doc.getElementsByTagNameNS(BPMN, '*');
    for (var i = 0; i < all.length; i++) {
      var el = all[i];
      var id = el.getAttribute('id');
      if (!id || el.localName === 'definitions' || el.localName === 'process' || el.localName === 'collaboration') { continue; }
      var clone = el.cloneNode(true);
      // Children with their own id are compared on their own; incoming and
      // outgoing follow from the flows.
      Array.prototype.slice.call(clone.querySelectorAll('*')).forEach(function (c) {
        if ((c.getAttribute && c.getAttribute('id') && c.parentNode) || (c.namespaceURI === BPMN && (c.localName === 'incoming' || c.localName === 'outgoing'))) {
          if (c.parentNode) { c.parentNode.removeChild(c); }
        }
      });
      var attrs = Array.prototype.map.call(clone.attributes, function (a) { return a.name + '=' + a.value; }).sort().join(' ');
      var body = '';
      Array.prototype.forEach.call(clone.childNodes, function (c) { body += c.nodeType === 1 ? ser.serializeToString(c) : (c.nodeValue || '').trim(); });
      out[id] = { sig: el.localName + ' ' + attrs + ' ' + body.replace(/\s+/g, ' '), name: el.getAttribute('name') || '', kind: el.localName };
    }
    return out;
  }

  function label(e, id) { return e.name ? '« ' + e.name + ' » (' + id + ')' : id; }

  function show(el) {
    var src = el.getAttribute('data-src');
    var prev = el.getAttribute('data-previous');
    Promise.all([get(src), prev ? get(prev) : Promise.resolve('')]).then(function (xs) {
      el.innerHTML = '';
      var viewer = new window.BpmnJS({ container: el });
      return viewer.importXML(xs[0]).then(function () {
        var canvas = viewer.get('canvas');
        var registry = viewer.get('elementRegistry');
        canvas.zoom('fit-viewport', 'auto');
        if (prev) {
          var a = index(xs[0]), b = index(xs[1]);
          var diff = { added: [], changed: [], removed: [] };
          Object.keys(a).forEach(function (id) {
            if (!b[id]) { diff.added.push(id); } else if (a[id].sig !== b[id].sig) { diff.changed.push(id); }
          });
          Object.keys(b).forEach(function (id) { if (!a[id]) { diff.removed.push(id); } });
          diff.added.forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, 'cf-added'); } });
          diff.changed.forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, 'cf-changed'); } });
          var list = document.getElementById('diff-list');
          if (list) {
            list.innerHTML = '';
            var add = function (what, ids, from) {
              ids.forEach(function (id) {
                var li = document.createElement('li');
                li.setAttribute('data-change', what);
                li.setAttribute('data-element', id);
                li.textContent = { added: 'ajouté', changed: 'modifié', removed: 'supprimé' }[what] + ' : ' + label(from[id], id);
                list.appendChild(li);
              });
            };
            add('added', diff.added, a);
            add('changed', diff.changed, a);
            add('removed', diff.removed, b);
            if (!list.children.length) {
              var li = document.createElement('li');
              li.textContent = 'Aucune différence de contenu (la mise en page a pu changer).';
              list.appendChild(li);
            }
          }
          window.civicflowDiff = diff;
        }
        el.setAttribute('data-ready', 'true');
      });
    }).catch(function () {
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
