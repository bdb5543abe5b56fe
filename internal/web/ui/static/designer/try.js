// "Essayer": the draft open in the modeler runs in the sandbox (POST
// /designer/try: the real interpreter, service tasks answered by their
// samples, nothing written anywhere). The state is polled every second
// (GET /designer/try/{id}); done, active and failed elements are marked on
// the canvas; the open user tasks are shown in the side panel (beside the
// canvas, never over the bpmn.io watermark) with their real form rendered
// by the form-js viewer (global FormViewer), and "Valider" completes them
// (POST /designer/try/{id}/tasks/{task}/complete). With "Répondre moi-même",
// each service task waits for the designer's answer (its sample, edited,
// or a failure: POST …/services/{node}/answer); an incident is retried or
// skipped (…/incidents/{node}/resolve); a waiting timer fires now
// (…/timers/{node}/fire). A badge marks where the token stands. No inline
// script (CSP).
(function () {
  'use strict';

  var MARKS = ['cf-try-done', 'cf-try-active', 'cf-try-failed'];
  var STATUS_FR = {
    running: 'en cours', incident: 'en incident', completed: 'terminé',
    cancelled: 'arrêté', terminated: 'interrompu', failed: 'en échec'
  };

  // The interpreter's history events, in French.
  var EVENT_FR = {
    started: 'démarrage', continued: 'suite', completed: 'terminé', reached: 'atteint', entered: 'entrée',
    waiting: 'en attente', opened: 'tâche ouverte', claimed: 'prise en charge', unclaimed: 'rendue',
    cancelled: 'annulé', fired: 'minuterie déclenchée', incident: 'incident', resolved: 'incident résolu',
    failed: 'échec', terminated: 'interrompu'
  };

  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute('hx-headers') || '{}')['X-CSRF-Token'] || ''; } catch (e) { return ''; }
  }

  function send(method, url, body) {
    var opts = { method: method, credentials: 'same-origin', headers: { Accept: 'application/json', 'X-CSRF-Token': csrfToken() } };
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    return fetch(url, opts).then(function (res) {
      return res.text().then(function (t) {
        var json = {};
        try { json = t ? JSON.parse(t) : {}; } catch (e) { json = { message: 'Réponse illisible du serveur (HTTP ' + res.status + ').' }; }
        json.httpStatus = res.status;
        return json;
      });
    });
  }

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  // The form-js viewer (1.2 MB) is loaded on the first try only, so that
  // the modeler page stays light.
  var viewerLoading = null;
  function loadViewer(src, css) {
    if (window.FormViewer || !src) { return Promise.resolve(); }
    if (!viewerLoading) {
      viewerLoading = new Promise(function (resolve) {
        if (css) { document.head.appendChild(el('link', { rel: 'stylesheet', href: css })); }
        var s = el('script', { src: src });
        s.onload = resolve;
        s.onerror = resolve; // the tasks then show a plain message
        document.head.appendChild(s);
      });
    }
    return viewerLoading;
  }

  function attach(modeler, opts) {
    var button = opts.button, panel = opts.panel;
    var endpoint = opts.endpoint || '/designer/try';
    var canvas = modeler.get('canvas');
    var registry = modeler.get('elementRegistry');
    var api = window.civicflowTry;
    var run = null; // {id, timer, marked: [], tasks: {id: true}}

    panel.innerHTML = '';
    var title = el('h2', { id: 'designer-try-title', tabindex: '-1' }, 'Essai');
    var status = el('p', { id: 'designer-try-status', role: 'status', 'aria-live': 'polite' });
    var varsLabel = el('label', { for: 'designer-try-vars' }, 'Variables de départ (JSON, facultatif)');
    var vars = el('textarea', { id: 'designer-try-vars', rows: '3', spellcheck: 'false', placeholder: '{"dataset": "essai"}' });
    var stop = el('button', { type: 'button', class: 'btn btn-secondary', id: 'designer-try-stop', hidden: '' }, 'Arrêter l\u2019essai');
    // Pause: every service task waits for the designer's answer (its
    // sample, edited, or a failure) instead of answering by its sample.
    var pauseBox = el('p', { class: 'designer-try-option' });
    var pause = el('input', { type: 'checkbox', id: 'designer-try-pause' });
    pauseBox.appendChild(pause);
    pauseBox.appendChild(el('label', { for: 'designer-try-pause' }, ' Répondre moi-même aux tâches de service (réponse modifiable ou échec)'));
    var tasks = el('div', { id: 'designer-try-tasks' });
    var services = el('div', { id: 'designer-try-services' });
    var timers = el('div', { id: 'designer-try-timers' });
    var history = el('ol', { id: 'designer-try-history', class: 'designer-try-history' });
    var problems = el('ul', { id: 'designer-try-problems', class: 'designer-try-problems' });
    [title, status, varsLabel, vars, pauseBox, stop, problems, services, timers, tasks, el('h3', {}, 'Déroulement'), history].forEach(function (n) { panel.appendChild(n); });

    function say(msg, kind) {
      status.textContent = msg;
      status.className = kind ? 'is-' + kind : '';
    }

    function nameOf(id) {
      var e = registry.get(id);
      var bo = e && e.businessObject;
      return bo && bo.name ? bo.name + ' (' + id + ')' : id;
    }

    var overlays = null;
    try { overlays = modeler.get('overlays'); } catch (e) { overlays = null; }

    function unmark() {
      if (!run) { return; }
      run.marked.forEach(function (m) { try { canvas.removeMarker(m[0], m[1]); } catch (e) { /* gone */ } });
      run.marked = [];
      if (overlays) { overlays.remove({ type: 'cf-try-token' }); }
    }

    // The token: a badge on each element where the run stands (its count
    // when several tokens wait there), beside the active marker.
    function tokens(st) {
      if (!overlays) { return; }
      var count = {};
      (st.current || []).forEach(function (id) { count[id] = (count[id] || 0) + 1; });
      Object.keys(count).forEach(function (id) {
        if (!registry.get(id)) { return; }
        var badge = el('span', { class: 'cf-try-token', 'data-token': id, title: 'Le jeton est ici' }, count[id] > 1 ? String(count[id]) : '');
        try { overlays.add(id, 'cf-try-token', { position: { top: -10, left: -10 }, html: badge }); } catch (e) { /* not a shape */ }
      });
    }

    function mark(ids, cls) {
      (ids || []).forEach(function (id) {
        if (!registry.get(id)) { return; }
        canvas.addMarker(id, cls);
        run.marked.push([id, cls]);
      });
    }

    // Gateways leave no history: one is passed when an element before it
    // is done and one after it is done or active.
    function passedGateways(st) {
      var seen = {};
      (st.done || []).concat(st.current || []).forEach(function (id) { seen[id] = true; });
      return registry.filter(function (e) { return /Gateway$/.test(e.type); }).filter(function (g) {
        var before = (g.incoming || []).some(function (c) { return c.source && (st.done || []).indexOf(c.source.id) >= 0; });
        var after = (g.outgoing || []).some(function (c) { return c.target && seen[c.target.id]; });
        return before && after;
      }).map(function (g) { return g.id; });
    }

    function showProblems(res) {
      problems.innerHTML = '';
      (res.problems || []).forEach(function (p) {
        problems.appendChild(el('li', { 'data-element': p.element || '' }, (p.element ? nameOf(p.element) + ' : ' : '') + p.message));
      });
    }

    function renderTask(t) {
      var box = el('section', { class: 'designer-try-task', 'data-task': t.id, 'data-node': t.node });
      box.appendChild(el('h3', {}, t.name || t.node));
      if (t.candidates && t.candidates.length) {
        box.appendChild(el('p', { class: 'hint' }, 'Proposée à : ' + t.candidates.join(', ') + ' (vous jouez ce rôle pendant l\u2019essai).'));
      }
      var mount = el('div', { class: 'designer-try-form' });
      box.appendChild(mount);
      var msg = el('p', { class: 'designer-try-msg', role: 'alert' });
      var ok = el('button', { type: 'button', class: 'btn btn-primary' }, 'Valider');
      box.appendChild(msg);
      box.appendChild(ok);
      var viewer = null;
      var schema = t.form;
      if (schema && schema.components && window.FormViewer && window.FormViewer.Form) {
        if (!schema.type) { schema.type = 'default'; }
        viewer = new window.FormViewer.Form({ container: mount });
        viewer.importSchema(schema, {}).then(function () { box.setAttribute('data-viewer', 'ready'); })
          .catch(function (e) { mount.textContent = 'Le formulaire n\u2019a pas pu être affiché : ' + (e.message || e); });
      } else {
        mount.textContent = 'Cette tâche n\u2019a pas de formulaire.';
        box.setAttribute('data-viewer', 'none');
      }
      ok.addEventListener('click', function () {
        var data = {};
        if (viewer) {
          var r = viewer.submit();
          if (r.errors && Object.keys(r.errors).length) {
            msg.textContent = 'Le formulaire contient des erreurs : corrigez les champs signalés.';
            return;
          }
          data = r.data || {};
        }
        ok.disabled = true;
        msg.textContent = '';
        send('POST', endpoint + '/' + encodeURIComponent(run.id) + '/tasks/' + encodeURIComponent(t.id) + '/complete', { data: data })
          .then(function (res) {
            ok.disabled = false;
            if (res.httpStatus >= 300) {
              msg.textContent = res.message || ('Refusé (HTTP ' + res.httpStatus + ').');
              return;
            }
            say('« ' + (t.name || t.node) + ' » validée.', 'ok');
            poll();
          }).catch(function (e) { ok.disabled = false; msg.textContent = 'Le serveur ne répond pas : ' + e.message; });
      });
      return box;
    }

    function post(path, body) {
      return send('POST', endpoint + '/' + encodeURIComponent(run.id) + path, body);
    }

    // A service task waiting for the designer's answer, or stopped on an
    // incident: its answer (prefilled: the sample, or the last answer) in
    // a JSON editor, or a failure with its message.
    function renderService(sv) {
      var key = sv.node + (sv.waiting ? '|waiting' : '|incident');
      var box = el('section', { class: 'designer-try-service', 'data-node': sv.node, 'data-key': key });
      var uid = 'designer-try-sv-' + sv.node.replace(/[^A-Za-z0-9_-]/g, '_');
      box.appendChild(el('h3', {}, nameOf(sv.node)));
      box.appendChild(el('p', { class: 'hint' }, (sv.label ? '« ' + sv.label + ' » ' : '') +
        (sv.waiting ? 'attend votre réponse.' : 'est en incident : changez sa réponse puis réessayez, ou passez-la.')));
      var answer = sv.answer || {};
      box.appendChild(el('label', { for: uid + '-json' }, 'Variables renvoyées (JSON)'));
      var json = el('textarea', { id: uid + '-json', class: 'designer-try-answer', rows: '5', spellcheck: 'false' });
      json.value = JSON.stringify(answer.variables || {}, null, 2);
      box.appendChild(json);
      var failBox = el('p', {});
      var fail = el('input', { type: 'checkbox', id: uid + '-fail', class: 'designer-try-fail' });
      failBox.appendChild(fail);
      failBox.appendChild(el('label', { for: uid + '-fail' }, ' Faire échouer cette tâche'));
      box.appendChild(failBox);
      var reasonLabel = el('label', { for: uid + '-reason' }, 'Message d\u2019échec');
      var reason = el('input', { type: 'text', id: uid + '-reason', class: 'designer-try-reason', maxlength: '500', value: answer.fail || 'service indisponible' });
      fail.checked = !!answer.fail;
      reasonLabel.hidden = reason.hidden = !fail.checked;
      fail.addEventListener('change', function () { reasonLabel.hidden = reason.hidden = !fail.checked; });
      box.appendChild(reasonLabel);
      box.appendChild(reason);
      var msg = el('p', { class: 'designer-try-msg', role: 'alert' });
      var buttons = el('p', { class: 'designer-try-buttons' });
      function read() {
        if (fail.checked) {
          if (!reason.value.trim()) { msg.textContent = 'Écrivez le message d\u2019échec.'; reason.focus(); return null; }
          return { fail: reason.value.trim() };
        }
        var v;
        try { v = JSON.parse(json.value || '{}'); } catch (e) {
          msg.textContent = 'La réponse n\u2019est pas du JSON valide : ' + e.message;
          json.focus();
          return null;
        }
        if (!v || typeof v !== 'object' || Array.isArray(v)) { msg.textContent = 'La réponse doit être un objet JSON, comme {"valid": false}.'; json.focus(); return null; }
        return { variables: v };
      }
      function act(btn, then) {
        var a = read();
        if (!a) { return; }
        msg.textContent = '';
        btn.disabled = true;
        post('/services/' + encodeURIComponent(sv.node) + '/answer', a).then(function (res) {
          if (res.httpStatus >= 300) { btn.disabled = false; msg.textContent = res.message || ('Refusé (HTTP ' + res.httpStatus + ').'); return null; }
          return then ? then() : res;
        }).then(function (res) {
          btn.disabled = false;
          if (res && res.httpStatus >= 300) { msg.textContent = res.message || ('Refusé (HTTP ' + res.httpStatus + ').'); return; }
          if (res) { say(res.message || 'Réponse envoyée.', 'ok'); }
          poll();
        }).catch(function (e) { btn.disabled = false; msg.textContent = 'Le serveur ne répond pas : ' + e.message; });
      }
      if (sv.waiting) {
        var ok = el('button', { type: 'button', class: 'btn btn-primary designer-try-send' }, 'Répondre');
        ok.addEventListener('click', function () { act(ok); });
        buttons.appendChild(ok);
      } else {
        var retry = el('button', { type: 'button', class: 'btn btn-primary designer-try-retry' }, 'Réessayer avec cette réponse');
        retry.addEventListener('click', function () {
          act(retry, function () { return post('/incidents/' + encodeURIComponent(sv.node) + '/resolve', { action: 'retry' }); });
        });
        var skip = el('button', { type: 'button', class: 'btn btn-secondary designer-try-skip' }, 'Passer cette tâche');
        skip.addEventListener('click', function () {
          skip.disabled = true;
          post('/incidents/' + encodeURIComponent(sv.node) + '/resolve', { action: 'skip' }).then(function (res) {
            skip.disabled = false;
            if (res.httpStatus >= 300) { msg.textContent = res.message || ('Refusé (HTTP ' + res.httpStatus + ').'); return; }
            poll();
          });
        });
        buttons.appendChild(retry);
        buttons.appendChild(skip);
      }
      box.appendChild(msg);
      box.appendChild(buttons);
      return box;
    }

    function when(iso) {
      var d = new Date(iso);
      if (isNaN(d.getTime())) { return ''; }
      return d.toLocaleString('fr-FR', { dateStyle: 'short', timeStyle: 'short' });
    }

    // A waiting timer: "fire now", so that no due date is waited for.
    function renderTimer(tm) {
      var box = el('section', { class: 'designer-try-timer', 'data-node': tm.node });
      box.appendChild(el('h3', {}, 'Minuterie ' + nameOf(tm.node)));
      box.appendChild(el('p', { class: 'hint' }, 'Échéance : ' + when(tm.deadline) + (tm.task ? ' (sur la tâche en cours)' : '') + '.'));
      var msg = el('p', { class: 'designer-try-msg', role: 'alert' });
      var fire = el('button', { type: 'button', class: 'btn btn-secondary designer-try-fire' }, 'Déclencher maintenant');
      fire.addEventListener('click', function () {
        fire.disabled = true;
        post('/timers/' + encodeURIComponent(tm.node) + '/fire').then(function (res) {
          fire.disabled = false;
          if (res.httpStatus >= 300) { msg.textContent = res.message || ('Refusé (HTTP ' + res.httpStatus + ').'); return; }
          say('Minuterie ' + nameOf(tm.node) + ' déclenchée.', 'ok');
          poll();
        }).catch(function (e) { fire.disabled = false; msg.textContent = 'Le serveur ne répond pas : ' + e.message; });
      });
      box.appendChild(msg);
      box.appendChild(fire);
      return box;
    }

    // sync keeps the boxes being edited: adds new ones, drops gone ones.
    function sync(parent, items, keyOf, make) {
      var want = {};
      items.forEach(function (it) {
        var k = keyOf(it);
        want[k] = true;
        if (!parent.querySelector('[data-key="' + CSS.escape(k) + '"]')) {
          var box = make(it);
          box.setAttribute('data-key', k);
          parent.appendChild(box);
        }
      });
      Array.prototype.slice.call(parent.children).forEach(function (c) {
        if (!want[c.getAttribute('data-key')]) { parent.removeChild(c); }
      });
    }

    function render(st) {
      unmark();
      mark((st.done || []).concat(passedGateways(st)), 'cf-try-done');
      mark(st.current, 'cf-try-active');
      mark(st.failed, 'cf-try-failed');
      tokens(st);
      sync(services, st.services || [], function (sv) { return sv.node + (sv.waiting ? '|waiting' : '|incident'); }, renderService);
      sync(timers, st.timers || [], function (tm) { return tm.node + '|' + tm.deadline; }, renderTimer);
      var label = STATUS_FR[st.status] || st.status;
      say('Essai ' + label + '.' + (st.incidents && st.incidents.length ? ' Incident : ' + st.incidents.map(function (i) { return nameOf(i.node) + ' : ' + i.message; }).join(' ; ') : ''),
        st.status === 'completed' ? 'ok' : (st.status === 'running' ? '' : 'error'));
      panel.setAttribute('data-status', st.status);
      // Keep the forms being filled: add new tasks, drop closed ones.
      var open = {};
      (st.tasks || []).forEach(function (t) {
        open[t.id] = true;
        if (!tasks.querySelector('[data-task="' + CSS.escape(t.id) + '"]')) { tasks.appendChild(renderTask(t)); }
      });
      Array.prototype.slice.call(tasks.children).forEach(function (c) {
        if (!open[c.getAttribute('data-task')]) { tasks.removeChild(c); }
      });
      history.innerHTML = '';
      (st.history || []).slice(-30).forEach(function (h) {
        var msg = h.event === 'opened' ? '' : (h.message || ''); // opened: the task id
        history.appendChild(el('li', { 'data-event': h.event }, (h.node ? nameOf(h.node) + ' : ' : '') + (EVENT_FR[h.event] || h.event) +
          (h.actor ? ' par ' + h.actor : '') + (msg ? ' — ' + msg : '')));
      });
      api.state = st;
      if (st.status !== 'running' && st.status !== 'incident') { finish(); }
    }

    function finish() {
      if (run && run.timer) { clearInterval(run.timer); run.timer = null; }
      stop.hidden = true;
      button.disabled = false;
    }

    function poll() {
      if (!run) { return; }
      var id = run.id;
      send('GET', endpoint + '/' + encodeURIComponent(id)).then(function (st) {
        if (!run || run.id !== id) { return; }
        if (st.httpStatus >= 300) { say(st.message || 'L\u2019essai ne répond pas.', 'error'); return; }
        render(st);
      }).catch(function () { /* next tick */ });
    }

    function start() {
      var variables;
      if (vars.value.trim()) {
        try { variables = JSON.parse(vars.value); } catch (e) {
          say('Les variables de départ ne sont pas du JSON valide : ' + e.message, 'error');
          vars.focus();
          return;
        }
        if (!variables || typeof variables !== 'object' || Array.isArray(variables)) {
          say('Les variables de départ doivent être un objet JSON, comme {"dataset": "essai"}.', 'error');
          return;
        }
      }
      panel.hidden = false;
      if (run) { finish(); unmark(); }
      run = null;
      tasks.innerHTML = '';
      services.innerHTML = '';
      timers.innerHTML = '';
      history.innerHTML = '';
      problems.innerHTML = '';
      button.disabled = true;
      say('Lancement de l\u2019essai…');
      loadViewer(opts.viewer, opts.viewerCSS).then(function () {
        return modeler.saveXML({ format: false });
      }).then(function (r) {
        return send('POST', endpoint, { xml: r.xml, variables: variables, pause: pause.checked });
      }).then(function (res) {
        if (res.httpStatus >= 300 || !res.id) {
          button.disabled = false;
          say(res.message || ('L\u2019essai est refusé (HTTP ' + res.httpStatus + ').'), 'error');
          showProblems(res);
          title.focus();
          return;
        }
        run = { id: res.id, marked: [], timer: null };
        panel.setAttribute('data-run', res.id);
        api.id = res.id;
        stop.hidden = false;
        say(res.message || 'Essai lancé.');
        poll();
        run.timer = setInterval(poll, 1000);
      }).catch(function (e) {
        button.disabled = false;
        say('L\u2019essai n\u2019a pas pu être lancé : ' + (e.message || e), 'error');
      });
    }

    button.addEventListener('click', start);
    stop.addEventListener('click', function () {
      if (!run) { return; }
      send('POST', endpoint + '/' + encodeURIComponent(run.id) + '/cancel').then(function (res) {
        if (res.httpStatus >= 300) { say(res.message || 'L\u2019essai n\u2019a pas pu être arrêté.', 'error'); return; }
        poll();
      });
    });
    button.hidden = false;
    api.ready = true;
    api.start = start;
  }

  window.civicflowTry = { attach: attach, ready: false };
})();
