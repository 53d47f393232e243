// Live progress of a command: polls the request's progress.json and refreshes the counts, the
// bar and the device table until the request is final. No libraries.
(function () {
  "use strict";
  var box = document.getElementById("progress");
  if (!box) return;
  var url = box.dataset.url, fragmentUrl = box.dataset.fragmentUrl, finalSeen = box.dataset.final === "1";
  function setText(selector, value) {
    var el = box.querySelector(selector);
    if (el) el.textContent = value;
  }
  function refresh() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (p) {
        var bar = document.getElementById("progress-bar");
        bar.style.width = p.percent + "%";
        bar.textContent = p.percent + "%";
        bar.parentElement.setAttribute("aria-valuenow", p.percent);
        setText('[data-count="total"]', p.total);
        Object.keys(p.by_outcome).forEach(function (k) { setText('[data-outcome="' + k + '"]', p.by_outcome[k]); });
        Object.keys(p.by_level).forEach(function (k) { setText('[data-level="' + k + '"]', p.by_level[k]); });
        var state = document.getElementById("request-state");
        if (state && state.firstElementChild) state.firstElementChild.textContent = p.state_label;
        return fetch(fragmentUrl, { credentials: "same-origin" }).then(function (r) { return r.text(); })
          .then(function (html) {
            var wrap = document.getElementById("device-table-wrap");
            if (wrap) wrap.outerHTML = html;
            if (p.is_final) { finalSeen = true; }
            else { window.setTimeout(refresh, 3000); }
          });
      })
      .catch(function () { window.setTimeout(refresh, 10000); });
  }
  if (!finalSeen) window.setTimeout(refresh, 3000);
})();
