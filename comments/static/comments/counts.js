/* Comment counts for any news page: include this script once, and every element with
 * data-comment-count="<article key>" gets its number, kept current by ONE event stream for all
 * the keys on the page (/api/v1/counts/events/?article=..&article=..: it starts with every
 * current count, then pushes each change). While the stream is down or refused (no EventSource,
 * 503 when live updates are off), the page polls /api/v1/counts/ instead, in one request
 * revalidated with the ETag, so an unchanged page costs a 304.
 * An element with data-comment-noun="<key>" gets "comment" or "comments" to match. */
(function () {
  "use strict";
  if (!window.fetch) return;
  var base = new URL((document.currentScript && document.currentScript.src) || "/", location.href).origin;
  var POLL_MS = 15000, RETRY_STREAM_MS = 60000, MAX_KEYS = 100;  // MAX_KEYS: the server's limit per request

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

  function query(group) {
    return group.map(function (k) { return "article=" + encodeURIComponent(k); }).join("&");
  }

  // A page rarely shows more than MAX_KEYS articles; if it does, each group of keys gets its own request.
  var groups = [];
  for (var i = 0; i < keys.length; i += MAX_KEYS) groups.push(keys.slice(i, i + MAX_KEYS));

  /* ``current()`` says whether the answer is still the newest news: a poll sent before the
   * group's stream (re)connected and brought counts must not take them back. */
  function poll(group, current) {
    // no-cache: the browser revalidates with If-None-Match and hands back the cached body on 304.
    fetch(base + "/api/v1/counts/?" + query(group), { cache: "no-cache" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) { if (body && current()) show(body.counts); })
      .catch(function () {});
  }

  /* One group's live counts: its stream while connected, polling while it is not. */
  function follow(group) {
    var timer = null, source = null, streamed = 0;
    function pollOnce() {
      var asked = streamed;
      poll(group, function () { return asked === streamed; });
    }
    function startPolling() { if (timer === null) { pollOnce(); timer = setInterval(pollOnce, POLL_MS); } }
    function stopPolling() { if (timer !== null) { clearInterval(timer); timer = null; } }

    function connect() {
      if (!window.EventSource) { startPolling(); return; }
      source = new EventSource(base + "/api/v1/counts/events/?" + query(group));
      source.addEventListener("open", stopPolling);
      source.addEventListener("count", function (e) {
        streamed += 1;
        var data = JSON.parse(e.data), counts = {};
        counts[data.article] = data.count;
        show(counts);
      });
      source.addEventListener("error", function () {
        startPolling();  // EventSource retries by itself; until it is back, the counts come by polling
        if (source.readyState === EventSource.CLOSED) {  // refused (e.g. 503): try again later
          source = null;
          setTimeout(connect, RETRY_STREAM_MS);
        }
      });
    }
    connect();
  }

  groups.forEach(follow);
})();
