// The designer's French strings: bpmn-js-i18n 2.3.0's fr.js (vendored,
// window.BPMN_I18N_FR, ~105 keys of the palette, context pad and menus)
// completed by our own table for the properties panel, the element
// templates UI and the Camunda 8 additions. modeler.js's translate module
// reads window.CIVICFLOW_FR; strings missing here are listed in
// window.civicflowDesigner.missing (the browser test reports them).
(function () {
  'use strict';
  var own = {
  };
  var base = window.BPMN_I18N_FR || {};
  var out = {};
  Object.keys(base).forEach(function (k) { out[k] = base[k]; });
  Object.keys(own).forEach(function (k) { out[k] = own[k]; });
  window.CIVICFLOW_FR = out;
})();
