// Draws every chart fragment rendered by apps.core.charts.figure_html.
(function () {
  "use strict";
  function draw() {
    if (!window.Plotly) { return; }
    document.querySelectorAll("div.plotly-chart").forEach(function (el) {
      var source = document.getElementById(el.id + "-figure");
      if (!source || el.dataset.drawn) { return; }
      var figure = JSON.parse(source.textContent);
      window.Plotly.newPlot(el, figure.data, figure.layout, {displaylogo: false, responsive: true});
      el.dataset.drawn = "1";
    });
  }
  window.mdmDrawCharts = draw;
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
}());
