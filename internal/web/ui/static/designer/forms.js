// The designer's form editor (/designer/forms/{id}): form-js's editor
// (vendored UMD, global FormEditor) on the form's latest version, a viewer
// preview (global FormViewer) with sample data beside it, and "Enregistrer"
// deploying the schema as a new version (POST /designer/forms/{id}, JSON,
// CSRF header). form-js 1.23's editor has no translate service: its
// palette and panel labels are put in French by replacing the exact
// English texts it renders (FR below). No inline script: the schema comes
// from <script type="application/json" id="form-schema">.
(function () {
  'use strict';

  var FR = {
    'Components': 'Composants', 'Search components': 'Rechercher un composant',
    'Input': 'Saisie', 'Selection': 'Sélection', 'Presentation': 'Présentation', 'Containers': 'Conteneurs',
    'Action': 'Action', 'Text field': 'Champ texte', 'Text area': 'Zone de texte', 'Number': 'Nombre',
    'Date time': 'Date et heure', 'Checkbox': 'Case à cocher', 'Checklist': 'Liste de cases', 'Checkbox group': 'Groupe de cases',
    'Radio group': 'Boutons radio', 'Select': 'Liste déroulante', 'Tag list': 'Liste d\u2019étiquettes',
    'Text view': 'Texte', 'Image view': 'Image', 'Table': 'Tableau', 'Group': 'Groupe',
    'Dynamic list': 'Liste dynamique', 'iFrame': 'iFrame', 'Button': 'Bouton', 'Spacer': 'Espace',
    'Separator': 'Séparateur', 'HTML view': 'Vue HTML', 'Document preview': 'Aperçu de document',
    'Expression': 'Expression', 'File picker': 'Sélecteur de fichier', 'Filepicker': 'Sélecteur de fichier',
    'General': 'Général', 'Validation': 'Validation', 'Condition': 'Condition', 'Layout': 'Disposition',
    'Appearance': 'Apparence', 'Options source': 'Source des options', 'Static options': 'Options fixes',
    'Custom properties': 'Propriétés personnalisées', 'Serialization': 'Sérialisation', 'Constraints': 'Contraintes',
    'Field label': 'Libellé du champ', 'Field description': 'Description du champ', 'Key': 'Clé',
    'Label': 'Libellé', 'Value': 'Valeur', 'Default value': 'Valeur par défaut', 'Required': 'Obligatoire',
    'Read only': 'Lecture seule', 'Disabled': 'Désactivé', 'Minimum length': 'Longueur minimale',
    'Maximum length': 'Longueur maximale', 'Minimum': 'Minimum', 'Maximum': 'Maximum',
    'Validation pattern': 'Motif de validation', 'Prefix': 'Préfixe', 'Suffix': 'Suffixe',
    'Hide if': 'Masquer si', 'Columns': 'Colonnes', 'Text': 'Texte', 'Type': 'Type', 'Name': 'Nom',
    'Searchable': 'Recherche', 'Submit': 'Envoyer', 'Reset': 'Réinitialiser', 'Version tag': 'Étiquette de version',
    'Form': 'Formulaire', 'Drag and drop components here to start designing.': 'Glissez des composants ici pour commencer.',
    'Use the library to add components.': 'Ajoutez des composants depuis la bibliothèque.',
    'Build your form': 'Composez votre formulaire', 'Delete': 'Supprimer', 'Auto': 'Auto'
  };

  function translateNode(root) {
    var walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, null);
    var n;
    while ((n = walker.nextNode())) {
      var t = n.nodeValue.trim();
      if (t && Object.prototype.hasOwnProperty.call(FR, t)) { n.nodeValue = n.nodeValue.replace(t, FR[t]); }
    }
    Array.prototype.forEach.call(root.querySelectorAll ? root.querySelectorAll('[placeholder],[title]') : [], function (el) {
      ['placeholder', 'title'].forEach(function (a) {
        var v = el.getAttribute(a);
        if (v && Object.prototype.hasOwnProperty.call(FR, v)) { el.setAttribute(a, FR[v]); }
      });
    });
  }

  function frenchify(container) {
    translateNode(container);
    var pending = false;
    new MutationObserver(function () {
      if (pending) { return; }
      pending = true;
      window.requestAnimationFrame(function () { pending = false; translateNode(container); });
    }).observe(container, { childList: true, subtree: true, characterData: true });
  }

  function init() {
    var holder = document.getElementById('form-editor');
    var saveForm = document.getElementById('form-save');
    if (!holder || !saveForm || !window.FormEditor || !window.FormViewer) { return; }
    var status = document.getElementById('form-status');
    var sample = document.getElementById('form-sample');
    var sampleError = document.getElementById('form-sample-error');
    var previewEl = document.getElementById('form-preview');
    var schema = JSON.parse(document.getElementById('form-schema').textContent);
    var editor = new window.FormEditor.FormEditor({
      container: holder,
      exporter: { name: 'civicflow', version: '1' }
    });
    window.civicflowFormEditor = editor;
    var preview = null;
    var timer = null;

    function sampleData() {
      var raw = (sample && sample.value.trim()) || '{}';
      try {
        var data = JSON.parse(raw);
        if (sampleError) { sampleError.hidden = true; sampleError.textContent = ''; }
        if (sample) { sample.removeAttribute('aria-invalid'); }
        return data && typeof data === 'object' ? data : {};
      } catch (e) {
        if (sampleError) { sampleError.hidden = false; sampleError.textContent = 'Données d\u2019exemple : JSON invalide.'; }
        if (sample) { sample.setAttribute('aria-invalid', 'true'); }
        return {};
      }
    }

    function refreshPreview() {
      var s = editor.saveSchema();
      if (preview) { preview.destroy(); }
      previewEl.innerHTML = '';
      preview = new window.FormViewer.Form({ container: previewEl });
      return preview.importSchema(s, sampleData()).then(function () {
        previewEl.setAttribute('data-ready', 'true');
      }).catch(function () {
        previewEl.setAttribute('data-ready', 'error');
      });
    }

    function schedulePreview() {
      clearTimeout(timer);
      timer = setTimeout(refreshPreview, 300);
    }

    editor.importSchema(schema).then(function () {
      frenchify(holder);
      editor.on('changed', schedulePreview);
      holder.setAttribute('data-ready', 'true');
      return refreshPreview();
    }).catch(function () {
      holder.setAttribute('data-ready', 'error');
      status.textContent = 'Le formulaire n\u2019a pas pu être ouvert dans l\u2019éditeur.';
    });
    if (sample) { sample.addEventListener('input', schedulePreview); }

    // .form import (read in the browser) and export (download), as
    // Camunda Modeler reads and writes them: JSON indented by 2 spaces.
    var formID = saveForm.getAttribute('data-form-id');
    var importInput = document.getElementById('form-import');
    var importError = document.getElementById('form-import-error');
    var exportButton = document.getElementById('form-export-button');

    function showImportError(msg) {
      if (!importError) { return; }
      importError.textContent = msg || '';
      importError.hidden = !msg;
      if (importInput) {
        if (msg) { importInput.setAttribute('aria-invalid', 'true'); } else { importInput.removeAttribute('aria-invalid'); }
      }
    }

    // importFormText loads a .form document's text into the editor; it
    // resolves to true, or to false with a French error beside the input.
    function importFormText(text) {
      var s;
      try {
        s = JSON.parse(text);
      } catch (e) {
        showImportError('Ce fichier n\u2019est pas un JSON valide : le formulaire n\u2019a pas été importé.');
        return Promise.resolve(false);
      }
      if (!s || typeof s !== 'object' || Array.isArray(s) || !Array.isArray(s.components)) {
        showImportError('Ce fichier n\u2019est pas un formulaire form-js (liste « components » absente) : il n\u2019a pas été importé.');
        return Promise.resolve(false);
      }
      return editor.importSchema(s).then(function () {
        showImportError('');
        status.textContent = 'Fichier importé : enregistrez pour en faire une nouvelle version.';
        status.className = 'form-status-ok';
        schedulePreview();
        return true;
      }).catch(function () {
        showImportError('L\u2019éditeur n\u2019a pas pu ouvrir ce formulaire : il n\u2019a pas été importé.');
        return false;
      });
    }

    // exportFormText is the editor's current schema as a .form file's text.
    function exportFormText() {
      return JSON.stringify(editor.saveSchema(), null, 2) + '\n';
    }
    window.civicflowFormExport = exportFormText;

    if (importInput) {
      importInput.addEventListener('change', function () {
        var file = importInput.files && importInput.files[0];
        if (!file) { return; }
        importInput.setAttribute('data-import', 'pending');
        var reader = new FileReader();
        reader.onload = function () {
          importFormText(String(reader.result)).then(function (ok) {
            importInput.setAttribute('data-import', ok ? 'done' : 'error');
          });
        };
        reader.onerror = function () {
          showImportError('Le fichier n\u2019a pas pu être lu.');
          importInput.setAttribute('data-import', 'error');
        };
        reader.readAsText(file);
      });
    }
    if (exportButton) {
      exportButton.addEventListener('click', function () {
        var blob = new Blob([exportFormText()], { type: 'application/json' });
        var url = URL.createObjectURL(blob);
        var a = document.createElement('a');
        a.href = url;
        a.download = formID + '.form';
        document.body.appendChild(a);
        a.click();
        document.body.removeChild(a);
        setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
      });
    }

    saveForm.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var token = saveForm.querySelector('input[name="_csrf"]');
      var body = editor.saveSchema();
      body.id = saveForm.getAttribute('data-form-id');
      status.textContent = 'Enregistrement…';
      fetch(saveForm.getAttribute('action'), {
        method: 'POST', credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRF-Token': token ? token.value : '' },
        body: JSON.stringify(body)
      }).then(function (res) {
        return res.json().then(function (b) { return { ok: res.ok, body: b || {} }; },
          function () { return { ok: false, body: {} }; });
      }).then(function (r) {
        status.textContent = r.ok ? r.body.message : (r.body.error || 'L\u2019enregistrement a échoué.');
        status.className = r.ok ? 'form-status-ok' : 'form-status-error';
        if (r.ok) { saveForm.setAttribute('data-version', String(r.body.version)); }
      }).catch(function () {
        status.textContent = 'L\u2019enregistrement a échoué (réseau).';
        status.className = 'form-status-error';
      });
    });
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
