// Hierarchy filters narrow each other (#15): a select with data-parent-select="circle" shows
// only the options whose data-parent is among the choices still open in the "circle" select
// (its chosen one, or all it shows). A choice no longer open is cleared. Loaded on every page;
// it does nothing where no such select is.
(function () {
  "use strict";
  function openValues(select) {
    if (select.value) { return [select.value]; }
    var out = [];
    Array.prototype.forEach.call(select.options, function (o) {
      if (o.value && !o.hidden) { out.push(o.value); }
    });
    return out;
  }
  function narrow(form) {
    var selects = form.querySelectorAll("select[data-parent-select]");
    Array.prototype.forEach.call(selects, function (child) {
      var parent = form.querySelector("select[name='" + child.dataset.parentSelect + "']");
      if (!parent) { return; }
      var restricted = parent.value || parent.dataset.parentSelect;
      var open = restricted ? openValues(parent) : null;
      Array.prototype.forEach.call(child.options, function (o) {
        if (!o.value) { return; }
        o.hidden = open !== null && open.indexOf(o.dataset.parent) === -1;
        o.disabled = o.hidden;
      });
      if (child.selectedOptions.length && child.selectedOptions[0].hidden) { child.value = ""; }
    });
  }
  function setUp() {
    document.querySelectorAll("form").forEach(function (form) {
      if (!form.querySelector("select[data-parent-select]")) { return; }
      form.addEventListener("change", function (event) {
        if (event.target.tagName === "SELECT") { narrow(form); }
      });
      narrow(form);
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
}());
