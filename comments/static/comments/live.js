/* Live count on the article page: follows the article's event stream, keeps every
 * [data-comment-count] for it current, and offers "N new comments — show" instead of moving
 * the thread under the reader. Falls back to polling /api/v1/counts/ while the stream is down.
 * No inline script anywhere (the CSP forbids it): this file is included by the template. */
(function () {
  "use strict";
  var section = document.querySelector("[data-comments-article]");
  if (!section || !window.fetch) return;
  var key = section.getAttribute("data-comments-article");
  var base = new URL((document.currentScript && document.currentScript.src) || "/", location.href).origin;
  var POLL_MS = 15000, RETRY_STREAM_MS = 60000;
  var newIds = new Set(), pollTimer = null, source = null;

  var streamed = 0;  // count events this script's own stream brought (the widget counts its own)

  function seen() { return section.commentsWidget ? section.commentsWidget.streamedCounts : streamed; }

  /* ``asked``: for a polled count, seen() when the poll was sent; a count the stream brought
   * since is newer, and stays. */
  function setCount(count, asked) {
    var widget = section.commentsWidget;
    // The widget's own count sits in its shadow root, out of reach of document.querySelectorAll.
    if (widget && widget.rendered) { widget.setCount(count, asked); return; }
    if (asked !== undefined && asked !== seen()) return;
    document.querySelectorAll('[data-comment-count="' + CSS.escape(key) + '"]').forEach(function (el) {
      el.textContent = String(count);
    });
  }

  if (section.commentsWidget) {
    /* The widget (loaded first) follows the stream itself: one stream per page. Here we only
     * keep the counts current by polling while its stream is not connected. */
    var sync = function () {
      if (section.getAttribute("data-live") === "connected") stopPolling(); else startPolling();
    };
    new MutationObserver(sync).observe(section, { attributes: true, attributeFilter: ["data-live"] });
    setTimeout(sync, 3000);  // no stream at all: no EventSource, or the widget could not start
    return;
  }

  var button = document.createElement("button");
  button.type = "button";
  button.className = "new-comments";
  button.hidden = true;
  // The notice sits in a polite live region that is there from the start: a region that only
  // appears with its text is often not announced.
  var region = document.createElement("div");
  region.setAttribute("aria-live", "polite");
  region.append(button);
  var anchor = section.querySelector(".sort") || section.querySelector("h2");
  anchor.insertAdjacentElement("afterend", region);

  function showNew() {
    var n = newIds.size;
    button.hidden = n === 0;
    button.textContent = n + (n === 1 ? " new comment" : " new comments") + " \u2014 show";
  }

  /* Fetch this page again and swap in the fresh thread only: the reader's draft stays. */
  button.addEventListener("click", function () {
    fetch(location.href, { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("[data-comments-article]");
        var oldThread = section.querySelector(".thread, .empty");
        var newThread = fresh && fresh.querySelector(".thread, .empty");
        if (!oldThread || !newThread) throw new Error("no thread");
        oldThread.replaceWith(document.importNode(newThread, true));
        newIds.clear();
        showNew();
      })
      .catch(function () { location.hash = "comments"; location.reload(); });
  });

  function poll() {
    var asked = seen();
    fetch(base + "/api/v1/counts/?article=" + encodeURIComponent(key), { cache: "no-cache" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) { if (body) setCount(body.counts[key], asked); })
      .catch(function () {});
  }

  function startPolling() {
    if (pollTimer === null) { poll(); pollTimer = setInterval(poll, POLL_MS); }
  }

  function stopPolling() {
    if (pollTimer !== null) { clearInterval(pollTimer); pollTimer = null; }
  }

  function connect() {
    if (!window.EventSource) { startPolling(); return; }
    source = new EventSource(base + "/api/v1/articles/" + encodeURIComponent(key) + "/events/");
    source.addEventListener("open", stopPolling);
    source.addEventListener("count", function (e) { streamed += 1; setCount(JSON.parse(e.data).count); });
    source.addEventListener("comment", function (e) {
      var id = JSON.parse(e.data).id;
      if (!document.getElementById("comment-" + id)) { newIds.add(id); showNew(); }
    });
    source.addEventListener("remove", function (e) {
      if (newIds.delete(JSON.parse(e.data).id)) showNew();
    });
    source.addEventListener("error", function () {
      startPolling();
      if (source.readyState === EventSource.CLOSED) {  // refused (e.g. 503): try again later
        setTimeout(connect, RETRY_STREAM_MS);
      }
    });
  }

  connect();
})();
