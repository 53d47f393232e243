// Rows you add and remove for apps.commands.widgets.TouProfileWidget (3.3 time-of-use
// profiles: day, week, season, holiday), with time pickers; no JSON typed by hand.
(function () {
  "use strict";
  var DAY_MONTH = /^(\d{2})-(\d{2})$/;
  var DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

  function mark(input, message) {
    input.setCustomValidity(message);
    input.classList.toggle("is-invalid", Boolean(message));
    input.title = message || input.dataset.title || input.title;
  }

  function checkRow(row) {
    // next to the field: ascending tariff start times, valid dd-MM dates
    var last = "";
    row.querySelectorAll("input[type=time]").forEach(function (input) {
      var bad = input.value && last && input.value <= last;
      mark(input, bad ? "Tariff start times must be in ascending order" : "");
      if (input.value) { last = input.value; }
    });
    row.querySelectorAll("input[pattern]").forEach(function (input) {
      var m = DAY_MONTH.exec(input.value);
      var ok = !input.value || (m && +m[2] >= 1 && +m[2] <= 12 && +m[1] >= 1 && +m[1] <= DAYS[+m[2] - 1]);
      mark(input, ok ? "" : "A date as dd-MM (for example 23-03)");
    });
  }

  function setUp(root) {
    if (root.dataset.touReady) { return; }
    root.dataset.touReady = "1";
    var body = root.querySelector(".tou-body");
    var template = root.querySelector("template.tou-template");
    root.addEventListener("click", function (event) {
      var remove = event.target.closest(".tou-remove");
      if (remove) {
        remove.closest("tr").remove();
        return;
      }
      if (event.target.closest(".tou-add")) {
        var index = root.dataset.next;
        root.dataset.next = String(Number(index) + 1);
        var html = template.innerHTML.split("__row__").join(index);
        body.insertAdjacentHTML("beforeend", html);
        var first = body.lastElementChild.querySelector("input");
        if (first) { first.focus(); }
      }
    });
    root.addEventListener("input", function (event) {
      var row = event.target.closest("tr");
      if (row) { checkRow(row); }
    });
    body.querySelectorAll("tr").forEach(checkRow);
  }

  function setUpAll() {
    document.querySelectorAll(".tou-rows").forEach(setUp);
  }
  window.mdmTouEditor = setUpAll;
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUpAll);
  } else {
    setUpAll();
  }
}());
