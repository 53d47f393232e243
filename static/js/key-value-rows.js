// Rows you add and remove for apps.core.widgets.KeyValueRowsWidget (no JSON typed by hand).
(function () {
  "use strict";
  function setUp(root) {
    if (root.dataset.kvReady) { return; }
    root.dataset.kvReady = "1";
    var body = root.querySelector(".kv-body");
    var template = root.querySelector("template.kv-template");
    root.addEventListener("click", function (event) {
      var remove = event.target.closest(".kv-remove");
      if (remove) {
        remove.closest("tr").remove();
        return;
      }
      if (event.target.closest(".kv-add")) {
        var row = template.content.firstElementChild.cloneNode(true);
        body.appendChild(row);
        var first = row.querySelector("select, input");
        if (first) { first.focus(); }
      }
    });
  }
  function setUpAll() {
    document.querySelectorAll(".kv-rows").forEach(setUp);
  }
  window.mdmKeyValueRows = setUpAll;
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUpAll);
  } else {
    setUpAll();
  }
}());
