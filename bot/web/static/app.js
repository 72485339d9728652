/* Dozor console: the live alerts feed (server-sent events), the viewer's time zone cookie,
   and where a syntax error points in the editor. No inline scripts: CSP forbids them. */
(function () {
  "use strict";

  function rememberZone() {
    try {
      var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      if (zone && document.cookie.indexOf("tz=" + zone) === -1) {
        document.cookie = "tz=" + encodeURIComponent(zone) + "; path=/; max-age=31536000; samesite=lax";
      }
    } catch (e) { /* an old browser: the server's zone is used */ }
  }

  function filterQuery() {
    var form = document.getElementById("alert-filters");
    if (!form) { return ""; }
    var params = new URLSearchParams(new FormData(form));
    return params.toString();
  }

  var source = null;
  function startLiveFeed() {
    var box = document.getElementById("alerts");
    if (!box || !window.EventSource) { return; }
    if (source) { source.close(); }
    var url = box.getAttribute("data-stream") + "?" + filterQuery() + "&since=" + encodeURIComponent(box.getAttribute("data-since") || "");
    source = new EventSource(url);
    var state = document.getElementById("live-state");
    source.onopen = function () { if (state) { state.classList.add("on"); } };
    source.onerror = function () { if (state) { state.classList.remove("on"); } };
    source.addEventListener("alert", function (event) {
      var holder = document.createElement("div");
      holder.innerHTML = event.data;
      var card = holder.firstElementChild;
      if (!card || document.getElementById(card.id)) { return; }
      var empty = document.getElementById("no-alerts");
      if (empty) { empty.remove(); }
      card.classList.add("fresh");
      box.insertBefore(card, box.firstChild);
      if (window.htmx) { window.htmx.process(card); }
      var sent = card.getAttribute("data-sent");
      if (sent && sent > (box.getAttribute("data-since") || "")) { box.setAttribute("data-since", sent); }
    });
  }

  function markErrorPlace(root) {
    var error = (root || document).querySelector ? (root || document).querySelector("#syntax-error") : null;
    var query = document.getElementById("rule-query");
    if (!error || !query) { return; }
    var line = parseInt(error.getAttribute("data-line"), 10) || 1;
    var column = parseInt(error.getAttribute("data-column"), 10) || 1;
    var lines = query.value.split("\n");
    var offset = 0;
    for (var i = 0; i < line - 1 && i < lines.length; i++) { offset += lines[i].length + 1; }
    query.classList.add("has-error");
    query.setAttribute("aria-invalid", "true");
    query.dataset.errorAt = String(offset + column - 1);
  }

  document.addEventListener("DOMContentLoaded", function () {
    rememberZone();
    startLiveFeed();
    var filters = document.getElementById("alert-filters");
    if (filters) { filters.addEventListener("change", startLiveFeed); }
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    var query = document.getElementById("rule-query");
    if (query && event.detail && event.detail.target && event.detail.target.id === "syntax") {
      query.classList.remove("has-error");
      query.removeAttribute("aria-invalid");
      markErrorPlace(event.detail.target);
    }
  });
  window.addEventListener("beforeunload", function () { if (source) { source.close(); } });
}());
