// Waymark dashboard: live refresh, the step chart, form feedback. No
// inline script anywhere (the pages' Content-Security-Policy forbids it).
"use strict";

// Live: the server says "change" when a run is kept or an incident moves;
// the main part of the page is fetched again, unless someone is typing.
(function live() {
  const dot = document.getElementById("live");
  const es = new EventSource("/events");
  es.addEventListener("open", () => dot && dot.classList.add("on"));
  es.addEventListener("error", () => dot && dot.classList.remove("on"));
  es.addEventListener("change", () => {
    const a = document.activeElement;
    if (a && a.matches("input, textarea, select")) return;
    if (window.htmx) {
      htmx.ajax("GET", location.pathname + location.search, {target: "#main", select: "#main", swap: "outerHTML"});
    }
  });
})();

// Charts: uPlot draws the series the page embeds as JSON.
function drawCharts(root) {
  if (!window.uPlot) return;
  root.querySelectorAll("[data-chart]").forEach((el) => {
    const src = document.getElementById("chart-" + el.dataset.chart);
    if (!src || el.dataset.drawn) return;
    el.dataset.drawn = "1";
    const c = JSON.parse(src.textContent);
    const palette = ["#2f5bd3", "#1a7f37", "#b35900", "#8e44ad", "#c62828", "#00838f", "#6d4c41", "#546e7a"];
    const series = [{}];
    const lo = c.times[0], hi = c.times[c.times.length - 1];
    c.series.forEach((name, i) => {
      const color = palette[Math.floor(i / 2) % palette.length];
      // p50 solid, p95 dashed; with many steps only the p95s show at first
      // (a click on a legend entry shows or hides a series).
      series.push({label: name, stroke: color, width: i % 2 ? 1 : 2, dash: i % 2 ? [4, 3] : undefined,
        show: c.series.length <= 8 || i % 2 === 1,
        value: (u, v) => v == null ? "—" : v + " ms", spanGaps: false});
    });
    const opts = {width: el.clientWidth || 800, height: 300, series,
      axes: [{}, {size: 64, values: (u, vals) => vals.map((v) => v >= 1000 ? (v / 1000) + " s" : v + " ms")}],
      // The axis spans the data; one point gets an hour either side, or
      // uPlot stretches it to years.
      scales: {x: {time: true, auto: false, range: lo === hi ? [lo - 3600, hi + 3600] : [lo, hi]}}};
    const plot = new uPlot(opts, [c.times, ...c.values], el);
    new ResizeObserver(() => plot.setSize({width: el.clientWidth, height: 300})).observe(el);
  });
}
document.addEventListener("DOMContentLoaded", () => drawCharts(document));
document.addEventListener("htmx:afterSettle", (e) => drawCharts(e.target));

// Forms and buttons posting to the API: say what went wrong, or that a
// run was queued (the page refreshes itself on success otherwise).
function toast(text) {
  const t = document.createElement("div");
  t.className = "toast";
  t.textContent = text;
  document.body.appendChild(t);
  setTimeout(() => t.remove(), 4000);
}
document.addEventListener("htmx:responseError", (e) => {
  let msg = "the request failed (" + e.detail.xhr.status + ")";
  try { msg = JSON.parse(e.detail.xhr.responseText).error || msg; } catch (_) { /* not JSON */ }
  const slot = e.detail.elt.closest("section") && e.detail.elt.closest("section").querySelector(".form-error");
  if (slot) slot.textContent = msg; else toast(msg);
});
document.addEventListener("htmx:afterRequest", (e) => {
  if (e.detail.successful && e.detail.requestConfig.path.endsWith("/run")) toast("queued: the run starts in a moment");
});
