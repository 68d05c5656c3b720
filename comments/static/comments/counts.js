/* Comment counts for any news page: include this script once, and every element with
 * data-comment-count="<article key>" gets its number, for the whole page in ONE request
 * (/api/v1/counts/?article=..&article=..), kept current by polling (revalidated with the ETag,
 * so an unchanged page costs a 304) or, when the page shows one article, by its event stream.
 * An element with data-comment-noun="<key>" gets "comment" or "comments" to match. */
(function () {
  "use strict";
  if (!window.fetch) return;
  var base = new URL((document.currentScript && document.currentScript.src) || "/", location.href).origin;
  var POLL_MS = 15000, MAX_KEYS = 100;

  var keys = Array.from(new Set(Array.from(document.querySelectorAll("[data-comment-count]"), function (el) {
    return el.getAttribute("data-comment-count");
  }))).filter(Boolean);
  if (!keys.length) return;

  function show(counts) {
    Object.keys(counts).forEach(function (key) {
      var selector = '[data-comment-count="' + CSS.escape(key) + '"]';
      document.querySelectorAll(selector).forEach(function (el) { el.textContent = String(counts[key]); });
      document.querySelectorAll('[data-comment-noun="' + CSS.escape(key) + '"]').forEach(function (el) {
        el.textContent = counts[key] === 1 ? "comment" : "comments";
      });
    });
  }

  function poll() {
    for (var i = 0; i < keys.length; i += MAX_KEYS) {
      var query = keys.slice(i, i + MAX_KEYS).map(function (k) { return "article=" + encodeURIComponent(k); });
      // no-cache: the browser revalidates with If-None-Match and hands back the cached body on 304.
      fetch(base + "/api/v1/counts/?" + query.join("&"), { cache: "no-cache" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (body) { if (body) show(body.counts); })
        .catch(function () {});
    }
  }

  var timer = null;
  function startPolling() { if (timer === null) { poll(); timer = setInterval(poll, POLL_MS); } }
  function stopPolling() { if (timer !== null) { clearInterval(timer); timer = null; } }

  if (keys.length === 1 && window.EventSource) {
    var key = keys[0];
    var source = new EventSource(base + "/api/v1/articles/" + encodeURIComponent(key) + "/events/");
    source.addEventListener("open", stopPolling);
    source.addEventListener("count", function (e) {
      var counts = {};
      counts[key] = JSON.parse(e.data).count;
      show(counts);
    });
    source.addEventListener("error", function () {
      startPolling();
      if (source.readyState === EventSource.CLOSED) source = null;  // refused: keep polling
    });
  } else {
    startPolling();
  }
})();
