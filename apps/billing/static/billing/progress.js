// Progress of a billing run: polls the run's progress endpoint, moves the bar, and reloads the
// page once the run is computed (totals and charts come with it). No libraries.
(function () {
  "use strict";
  var box = document.getElementById("run-progress");
  if (!box || box.dataset.final === "1") return;
  function refresh() {
    fetch(box.dataset.url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (p) {
        var bar = document.getElementById("run-bar");
        bar.style.width = p.percent + "%";
        bar.textContent = p.percent + "%";
        bar.parentElement.setAttribute("aria-valuenow", p.percent);
        document.getElementById("run-done").textContent = p.done;
        document.getElementById("run-total").textContent = p.total;
        if (p.final) { window.location.reload(); } else { window.setTimeout(refresh, 2000); }
      })
      .catch(function () { window.setTimeout(refresh, 10000); });
  }
  window.setTimeout(refresh, 2000);
})();
