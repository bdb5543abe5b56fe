// Lint as you draw. The designer's modeler page includes this file and calls
//
//   window.civicflowLint.attach(modeler, { endpoint: '/designer/lint' })
//
// On import and on every change (debounced), the diagram's XML goes to the
// endpoint (designer.Lint on the server: the same rules as the deploy and
// `civicflow flow validate`) and the answer is shown: a red (error) or amber
// (warning) badge overlay and canvas marker on each offending element, and a
// French problems list in the element of id "lint-problems" if the page has
// one (role="status", aria-live="polite"), whose entries select the element.
// No bundler: plain ES5, bpmn-js services reached through modeler.get.
(function () {
  'use strict';

  var OVERLAY = 'civicflow-lint';
  var MARKERS = { error: 'cf-lint-error', warning: 'cf-lint-warning' };
  var LABELS = { error: 'Erreur', warning: 'Avertissement' };

  function csrfToken(opts) {
    if (opts.csrfToken) { return opts.csrfToken; }
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) { return meta.getAttribute('content'); }
    var input = document.querySelector('input[name="_csrf"]');
    return input ? input.value : '';
  }

  function service(modeler, name) {
    try { return modeler.get(name); } catch (e) { return null; }
  }

  // xmlOf serialises the definitions without saveXML's hooks (the modeler's
  // align-to-origin would move the diagram on every lint), else saveXML.
  function xmlOf(modeler) {
    var moddle = service(modeler, 'moddle');
    var defs = modeler.getDefinitions && modeler.getDefinitions();
    if (moddle && defs && moddle.toXML) {
      return moddle.toXML(defs, { format: false }).then(function (r) { return r.xml; });
    }
    return modeler.saveXML({ format: false }).then(function (r) { return r.xml; });
  }

  function plural(n, one, many) { return n + ' ' + (n > 1 ? many : one); }

  function escapeHTML(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }

  function Lint(modeler, opts) {
    this.modeler = modeler;
    this.opts = opts || {};
    this.endpoint = this.opts.endpoint || '/designer/lint';
    this.delay = this.opts.debounce === undefined ? 400 : this.opts.debounce;
    this.problems = [];
    this.marked = [];
    this.seq = 0;
    this.timer = null;
    this.list = this.opts.list || document.getElementById('lint-problems');
    if (this.list) {
      this.list.setAttribute('role', 'status');
      this.list.setAttribute('aria-live', 'polite');
    }
    var self = this;
    var bus = service(modeler, 'eventBus');
    this.onImport = function () { self.schedule(0); };
    this.onChange = function () { self.schedule(self.delay); };
    if (bus) {
      bus.on('import.done', this.onImport);
      bus.on('commandStack.changed', this.onChange);
    }
    // Already imported (attach after importXML): lint now.
    if (modeler.getDefinitions && modeler.getDefinitions()) { this.schedule(0); }
  }

  Lint.prototype.schedule = function (ms) {
    var self = this;
    clearTimeout(this.timer);
    this.timer = setTimeout(function () { self.run(); }, ms);
  };

  // run lints now; the promise resolves with the problems shown.
  Lint.prototype.run = function () {
    var self = this;
    var seq = ++this.seq;
    this.state('pending');
    return xmlOf(this.modeler).then(function (xml) {
      var headers = { 'Content-Type': 'application/xml', Accept: 'application/json' };
      var token = csrfToken(self.opts);
      if (token) { headers['X-CSRF-Token'] = token; }
      return fetch(self.endpoint, { method: 'POST', credentials: 'same-origin', headers: headers, body: xml });
    }).then(function (res) {
      return res.json().then(function (body) { return { ok: res.ok, body: body || {} }; },
        function () { return { ok: false, body: {} }; });
    }).then(function (r) {
      if (seq !== self.seq) { return self.problems; } // a newer lint is on its way
      if (!r.ok && !(r.body.problems && r.body.problems.length)) {
        self.show([], r.body.error || 'La vérification du diagramme a échoué.');
        self.state('error');
        return [];
      }
      self.show(r.body.problems || [], '');
      self.state('done');
      return self.problems;
    }).catch(function () {
      if (seq === self.seq) {
        self.show([], 'La vérification du diagramme n\u2019a pas pu être faite (réseau).');
        self.state('error');
      }
      return [];
    });
  };

  Lint.prototype.state = function (s) {
    if (this.list) { this.list.setAttribute('data-lint', s); }
  };

  Lint.prototype.clear = function () {
    var overlays = service(this.modeler, 'overlays');
    var canvas = service(this.modeler, 'canvas');
    if (overlays) { overlays.remove({ type: OVERLAY }); }
    if (canvas) {
      this.marked.forEach(function (m) { try { canvas.removeMarker(m[0], m[1]); } catch (e) { /* gone */ } });
    }
    this.marked = [];
  };

  Lint.prototype.select = function (id) {
    var registry = service(this.modeler, 'elementRegistry');
    var el = registry && registry.get(id);
    if (!el) { return false; }
    var selection = service(this.modeler, 'selection');
    var canvas = service(this.modeler, 'canvas');
    if (canvas && canvas.scrollToElement && !el.waypoints) {
      try { canvas.scrollToElement(el); } catch (e) { /* root elements */ }
    }
    if (selection) { selection.select(el); }
    return true;
  };

  Lint.prototype.show = function (problems, failure) {
    var self = this;
    this.problems = problems;
    this.clear();
    var registry = service(this.modeler, 'elementRegistry');
    var overlays = service(this.modeler, 'overlays');
    var canvas = service(this.modeler, 'canvas');
    var byElement = {};
    problems.forEach(function (p) {
      if (!p.elementId || !registry || !registry.get(p.elementId)) { return; }
      (byElement[p.elementId] = byElement[p.elementId] || []).push(p);
    });
    Object.keys(byElement).forEach(function (id) {
      var ps = byElement[id];
      var sev = ps.some(function (p) { return p.severity === 'error'; }) ? 'error' : 'warning';
      var el = registry.get(id);
      if (canvas) {
        canvas.addMarker(id, MARKERS[sev]);
        self.marked.push([id, MARKERS[sev]]);
      }
      if (!overlays) { return; }
      var title = ps.map(function (p) { return LABELS[p.severity] + ' : ' + p.message; }).join('\n');
      var badge = document.createElement('button');
      badge.type = 'button';
      badge.className = 'cf-lint-badge cf-lint-badge--' + sev;
      badge.setAttribute('data-element', id);
      badge.title = title;
      badge.setAttribute('aria-label', plural(ps.length, 'problème', 'problèmes') + ' sur ' + id);
      badge.textContent = sev === 'error' ? '!' : '?';
      badge.addEventListener('click', function (ev) { ev.stopPropagation(); self.select(id); });
      var pos = el.waypoints ? { top: -8, left: 0 } : { top: -8, right: 8 };
      try { overlays.add(id, OVERLAY, { position: pos, html: badge }); } catch (e) { /* hidden element */ }
    });
    this.render(problems, failure);
    if (typeof this.opts.onProblems === 'function') { this.opts.onProblems(problems); }
  };

  Lint.prototype.name = function (id) {
    var registry = service(this.modeler, 'elementRegistry');
    var el = id && registry && registry.get(id);
    var bo = el && el.businessObject;
    return (bo && bo.name) ? bo.name + ' (' + id + ')' : (id || 'Diagramme');
  };

  Lint.prototype.render = function (problems, failure) {
    var list = this.list;
    if (!list) { return; }
    var self = this;
    var errors = problems.filter(function (p) { return p.severity === 'error'; }).length;
    var warnings = problems.length - errors;
    var html = '';
    if (failure) {
      html = '<p class="cf-lint-summary cf-lint-summary--failed">' + escapeHTML(failure) + '</p>';
    } else if (!problems.length) {
      html = '<p class="cf-lint-summary cf-lint-summary--ok">Aucun problème : le diagramme peut être déployé.</p>';
    } else {
      html = '<p class="cf-lint-summary">' + (errors ? plural(errors, 'erreur', 'erreurs') : 'Aucune erreur') +
        (warnings ? ', ' + plural(warnings, 'avertissement', 'avertissements') : '') +
        (errors ? ' : le diagramme ne peut pas être déployé.' : '.') + '</p><ul class="cf-lint-list">';
      problems.forEach(function (p, i) {
        html += '<li class="cf-lint-item cf-lint-item--' + escapeHTML(p.severity) + '">' +
          '<button type="button" class="cf-lint-goto" data-index="' + i + '" data-element="' + escapeHTML(p.elementId || '') + '">' +
          '<span class="cf-lint-sev">' + LABELS[p.severity] + '</span> ' +
          '<span class="cf-lint-el">' + escapeHTML(self.name(p.elementId)) + '</span> : ' +
          '<span class="cf-lint-msg">' + escapeHTML(p.message) + '</span></button></li>';
      });
      html += '</ul>';
    }
    list.innerHTML = html;
    Array.prototype.forEach.call(list.querySelectorAll('.cf-lint-goto'), function (b) {
      b.addEventListener('click', function () { self.select(b.getAttribute('data-element')); });
    });
  };

  Lint.prototype.detach = function () {
    var bus = service(this.modeler, 'eventBus');
    clearTimeout(this.timer);
    if (bus) {
      bus.off('import.done', this.onImport);
      bus.off('commandStack.changed', this.onChange);
    }
    this.clear();
  };

  window.civicflowLint = {
    attach: function (modeler, opts) { return new Lint(modeler, opts); }
  };
})();
