/* The comment section as a live widget: no framework, no build step, one file.
 *
 * Mounts on every element with data-comments-article="KEY" and replaces its server-rendered
 * content once the API has answered (until then, and without JavaScript, the plain forms work).
 * The API base is the origin this script was loaded from, so a news page on another site only
 * needs the <div> and one <script src="https://COMMENTS-HOST/static/comments/widget.js">.
 *
 * The widget draws inside a shadow root on that element, with its own stylesheet: the news
 * page's CSS cannot restyle it (no navy-on-black headings because the site styles every h2),
 * and the widget's CSS cannot leak into the page.
 *
 * Signing in: on the comments site itself the widget uses the site's session cookie and CSRF
 * token. Embedded on another site it first tries the same cookie (sent cross-site when the
 * browser allows third-party cookies and the server sets SameSite=None); where the browser
 * blocks those (Safari, Firefox, private windows), the reader signs in inside the widget through
 * allauth's app API, and the widget keeps the session token in this site's localStorage and
 * sends it as X-Session-Token.
 *
 * Safety rule: the only HTML inserted is the server's sanitized body_html; every other string
 * (names, messages, counts) goes in as text.
 *
 * Why one file: the embed is one <script> tag, and one file keeps it one request with no load
 * order to get wrong, no module CORS headers to demand from the host of the static files, and one
 * entry in a news site's Content-Security-Policy. The concerns are separate objects instead:
 *
 *   helpers      h(), put(), plural(), editableText()         DOM building, text only
 *   Strings      translator(), CATALOG                         what a reader reads, per language
 *   Session      requests, errors, who is reading, tokens      the only code that calls fetch()
 *   Widget       mounting (shadow root), start, failure        ties the parts below together
 *   Rendering    the thread, one comment, replies, sorting     draws from API answers
 *   Forms        post, reply, edit, delete, report, like       the reader's writes
 *   Live         the event stream, "N new comments"           follows the article while open
 *   SignIn       sign in/out inside an embedded widget         allauth's app API
 *
 * Rendering, Forms, Live and SignIn are sets of methods on the widget (``this`` is the widget):
 * they share its state (the nodes drawn, the queue of new comments) and call each other only
 * through the names listed at the top of each set.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var BASE = new URL(script ? script.src : location.href, location.href).origin;
  var SAME_ORIGIN = BASE === location.origin;
  var SORTS = [["newest", "Newest"], ["oldest", "Oldest"], ["top", "Top"]];
  var REASONS = [["spam", "Spam"], ["abuse", "Abuse or harassment"], ["off_topic", "Off topic"], ["other", "Something else"]];
  var STYLESHEET = BASE + "/static/comments/widget.css";
  var mounted = 0;

  /* --- helpers ------------------------------------------------------------------------------ */

  /** h("button", {class: "x", onclick: fn, "aria-pressed": "true"}, "text", child, ...) */
  function h(tag, attrs) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === null || value === undefined || value === false) return;
      if (name.slice(0, 2) === "on") el.addEventListener(name.slice(2), value);
      else el.setAttribute(name, value === true ? "" : value);
    });
    return put(el, Array.prototype.slice.call(arguments, 2), true);
  }

  /** Replace (or, with ``keep``, extend) el's children; strings become text, never markup. */
  function put(el, children, keep) {
    if (!keep) el.replaceChildren();
    children.forEach(function (child) { if (child !== null && child !== undefined && child !== false) el.append(child); });
    return el;
  }

  function plural(n, one, many) { return n + " " + (n === 1 ? one : many); }

  function cookie(name) {
    var match = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return match ? decodeURIComponent(match[1]) : null;
  }

  var dateFormat = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit" });

  /** The editable text of sanitized HTML, for comments whose API shape has no raw ``body``. */
  function editableText(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");  // inert: scripts never run here
    function walk(node) {
      return Array.prototype.map.call(node.childNodes, function (child) {
        if (child.nodeType === 3) return child.data;
        var tag = child.nodeName.toLowerCase(), inner = walk(child);
        if (tag === "br") return "\n";
        if (tag === "a") {
          var href = child.getAttribute("href") || "";
          return inner === href || "mailto:" + inner === href ? inner : '<a href="' + href + '">' + inner + "</a>";
        }
        return ["em", "strong", "code", "blockquote"].indexOf(tag) >= 0 ? "<" + tag + ">" + inner + "</" + tag + ">" : inner;
      }).join("");
    }
    var paragraphs = doc.body.querySelectorAll("p");
    return paragraphs.length ? Array.prototype.map.call(paragraphs, walk).join("\n\n") : walk(doc.body);
  }

  /* --- Strings: what a reader reads, in the page's language -----------------------------------
   * The widget runs on pages of other sites and must speak even when the comments server cannot
   * be reached, so its translations travel with it: English is the key, CATALOG holds the other
   * languages (hy, ru). The language is the root's data-lang, else the nearest lang attribute
   * (<html lang="hy">), else English. A string not in the catalog shows in English. */

  var CATALOG = {
    hy: {
      "The comments could not be loaded. Please try again later.": "Չհաջողվեց բեռնել մեկնաբանությունները։ Խնդրում ենք փորձել ավելի ուշ։",
      "Comments are not available for this article.": "Այս հոդվածի մեկնաբանությունները հասանելի չեն։",
    },
    ru: {
      "The comments could not be loaded. Please try again later.": "Не удалось загрузить комментарии. Пожалуйста, попробуйте позже.",
      "Comments are not available for this article.": "Комментарии к этой статье недоступны.",
    },
  };

  function languageOf(root) {
    var tagged = root.closest("[lang]");
    var tag = root.getAttribute("data-lang") || (tagged && tagged.getAttribute("lang")) || "en";
    return tag.toLowerCase().split("-")[0];
  }

  /** t(text, {name: value}) for one language: the translation of ``text`` with {name} filled in. */
  function translator(language) {
    var table = CATALOG[language] || {};
    return function (text, values) {
      var translated = table[text] || text;
      return values ? translated.replace(/\{(\w+)\}/g, function (all, name) { return values[name]; }) : translated;
    };
  }

  /* --- Session: requests, their errors, who is reading ------------------------------------- */

  function ApiError(status, data, retryAfter, url) {
    this.status = status;  // 0: no answer at all (server down, network, or refused by CORS)
    this.code = (data && data.code) || "";
    // allauth answers {errors: [{message}]}, the comments API {detail, code, fields}
    this.detail = (data && (data.detail || (data.errors || []).map(function (e) { return e.message; }).join(" "))) || "";
    this.flows = data && data.data && data.data.flows;
    this.fields = (data && data.fields) || {};
    this.retryAfter = retryAfter;
    this.url = url;
  }

  /** What to tell the reader about a failed request: plain words, never a status code. */
  function describe(error) {
    if (!(error instanceof ApiError)) return "Something went wrong. Please try again.";
    if (error.status === 0) return "Could not reach the comments server. Check your connection and try again.";
    if (error.status === 429) {
      var wait = parseInt(error.retryAfter, 10);
      return "You are posting too quickly. Please wait " + (wait > 0 ? plural(wait, "second", "seconds") : "a moment") + " and try again.";
    }
    if (error.code === "banned") return error.detail || "Your account may not post comments.";
    if (error.code === "comments_closed") return "Comments are closed on this article.";
    if (error.status === 401 || error.code === "not_authenticated") return "Your session has ended. Please sign in again.";
    if (error.code === "csrf_failed" || (error.status === 403 && /csrf/i.test(error.detail))) return "Your session has expired. Reload the page and try again.";
    var messages = [];
    Object.keys(error.fields).forEach(function (field) { messages = messages.concat(error.fields[field]); });
    if (error.status === 400 && messages.length) return messages.join(" ");
    return error.detail || "Something went wrong. Please try again.";
  }

  /** What to tell the site's developer when the widget cannot start (console.error). */
  function diagnose(error, key) {
    var prefix = "Comments widget (article " + JSON.stringify(key) + "): ";
    if (!(error instanceof ApiError)) return prefix + "could not start: " + error;
    if (error.status === 0) {
      return prefix + "no answer from " + (error.url || BASE) + ". " + (SAME_ORIGIN
        ? "Is the comments service running?"
        : "Either the comments service at " + BASE + " is down, or it does not allow this page's origin: add " +
          location.origin + " to its CORS_ALLOWED_ORIGINS setting (the browser hides the answer of a server that does not list the page's origin).");
    }
    if (error.status === 404) return prefix + BASE + " has no such article; the CMS creates it with PUT /api/v1/articles/{key}/.";
    return prefix + BASE + " answered HTTP " + error.status + " to " + error.url + (error.detail ? ": " + error.detail : "");
  }

  /** The reader's session with the comments API: a cookie (+ CSRF token) or, on another site
   * whose browser blocks third-party cookies, a session token kept in localStorage. */
  function Session() {
    this.tokenKey = "comments-session-token:" + BASE;
    this.token = SAME_ORIGIN ? null : this.stored();
    this.reader = null;      // {id, display_name} or null
    this.csrfToken = null;   // for a page on another origin, which cannot read the cookie
    this.loginUrl = null;
    this.signupUrl = null;
  }

  Session.prototype.stored = function (value) {
    try {
      if (value === undefined) return localStorage.getItem(this.tokenKey);
      if (value) localStorage.setItem(this.tokenKey, value); else localStorage.removeItem(this.tokenKey);
    } catch (e) { return null; }  // storage blocked: the reader signs in again next time
  };

  /** A JSON request to the comments server; rejects with an ApiError (status 0: no answer). */
  Session.prototype.request = function (method, url, body) {
    var headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (this.token) headers["X-Session-Token"] = this.token;
    else if (method !== "GET") headers["X-CSRFToken"] = (SAME_ORIGIN && cookie("csrftoken")) || this.csrfToken || "";
    return fetch(url, {
      method: method, headers: headers, credentials: this.token ? "omit" : "include",
      body: body === undefined ? undefined : JSON.stringify(body),
    }).catch(function () { throw new ApiError(0, null, null, url); }).then(function (response) {
      if (response.status === 204) return null;
      return response.json().catch(function () { return null; }).then(function (data) {
        if (!response.ok) throw new ApiError(response.status, data, response.headers.get("Retry-After"), url);
        if (data === null) throw new ApiError(response.status, null, null, url);
        return data;
      });
    });
  };

  /** Who is reading, and the CSRF token a page on another origin cannot read from the cookie. */
  Session.prototype.load = function () {
    var self = this;
    if (this.token) {
      return this.request("GET", BASE + "/_allauth/app/v1/auth/session").then(function (answer) {
        self.reader = { id: answer.data.user.id, display_name: answer.data.user.display };
      }, function (error) {
        if (error.status === 0) return;
        self.token = null;
        self.stored(null);
        return self.load();
      });
    }
    return this.request("GET", BASE + "/widget/session/").then(function (session) {
      self.reader = session.reader;
      self.csrfToken = session.csrf_token;
      self.loginUrl = session.login_url;
      self.signupUrl = session.signup_url;
    }, function () { self.reader = null; });
  };

  Session.prototype.signIn = function (email, password) {
    var self = this;
    return this.request("POST", BASE + "/_allauth/app/v1/auth/login", { email: email, password: password }).then(function (answer) {
      self.token = answer.meta.session_token;
      self.stored(self.token);
      self.reader = { id: answer.data.user.id, display_name: answer.data.user.display };
    });
  };

  Session.prototype.signOut = function () {
    var self = this;
    // allauth answers 401 once the session is gone; either way this page forgets the token.
    return this.request("DELETE", BASE + "/_allauth/app/v1/auth/session").catch(function () {}).then(function () {
      self.token = null;
      self.stored(null);
      self.reader = null;
    });
  };

  /* --- Widget: mounting, start, failure ----------------------------------------------------- */

  /** A shadow root on ``root`` (or, for an element that cannot host one, on a <div> in it). */
  function attachShadow(root) {
    try {
      return { host: root, shadow: root.attachShadow({ mode: "open" }) };
    } catch (e) {
      var host = h("div", { class: "cw-host" });
      root.prepend(host);
      return { host: host, shadow: host.attachShadow({ mode: "open" }) };
    }
  }

  function Widget(root) {
    var self = this, mount = attachShadow(root);
    this.root = root;
    this.host = mount.host;
    this.shadow = mount.shadow;
    this.key = root.getAttribute("data-comments-article");
    this.t = translator(languageOf(root));
    this.uid = "cw" + ++mounted;
    var wanted = new URLSearchParams(location.search).get("sort");  // a link may ask for an order
    this.sort = SORTS.some(function (sort) { return sort[0] === wanted; }) ? wanted : "newest";
    this.session = new Session();
    this.next = null;
    this.open = false;
    this.nodes = new Map();   // comment id -> its <li>
    this.queued = new Map();  // comments announced by the stream, not shown yet
    this.removed = new Set(); // ids the stream said are gone: a catch-up must not bring them back
    this.rendered = false;
    this.early = [];          // stream events that came before the thread was drawn
    this.live = false;        // the stream is open
    this.behind = false;      // the thread may lack comments posted while the stream was not open
    this.streamedCounts = 0;  // count events from the stream so far (see setCount)
    // The page's own content shows through the <slot> until the widget is drawn (or fails).
    this.styles = h("link", { rel: "stylesheet", href: STYLESHEET });
    this.styled = new Promise(function (resolve) {
      self.styles.addEventListener("load", resolve);
      self.styles.addEventListener("error", resolve);
    });
    this.shadow.replaceChildren(this.styles, h("slot"));
  }

  /** Put ``nodes`` in the shadow root after its stylesheet. The <link> stays where it is: taken
   * out and put back, the browser applies it again asynchronously, and for a moment the host
   * page's inherited styles show through (seen as a flaky test of a hostile host page). */
  Widget.prototype.show = function () {
    while (this.styles.nextSibling) this.shadow.removeChild(this.styles.nextSibling);
    this.shadow.append.apply(this.shadow, arguments);
  };

  Widget.prototype.url = function (path) { return BASE + "/api/v1/" + path; };

  Widget.prototype.listUrl = function () {
    return this.url("articles/" + encodeURIComponent(this.key) + "/comments/?sort=" + this.sort);
  };

  /* The event stream opens first and the thread is read once it is open (or has failed, or is
   * slow), so that nothing posted in between is missed: the stream delivers everything after
   * the moment it opened, and events that come before the thread is drawn wait in ``early``.
   * If the thread had to be read before the stream opened, a catch-up read follows the opening
   * (see ``listen``). */
  Widget.prototype.start = function () {
    var self = this;
    var thread = this.listen().then(function () {
      self.behind = !self.live;
      return self.session.request("GET", self.listUrl());
    });
    return Promise.all([
      this.session.load(),
      this.session.request("GET", this.url("articles/" + encodeURIComponent(this.key) + "/")),
      thread,
      this.styled,
    ]).then(function (results) {
      self.open = results[1].comments_open;
      self.render(results[2]);
      self.rendered = true;
      self.early.splice(0).forEach(function (waiting) { waiting.run(); });
      if (self.behind && self.live) self.catchUp();
      if (!SAME_ORIGIN) window.addEventListener("focus", function () { self.refreshSession(); });
      // A link on the page to a comment: the browser cannot find ids inside the shadow root, so
      // the widget shows (fetching it if needed), scrolls to and focuses the comment itself.
      window.addEventListener("hashchange", function () { self.showLinked(); });
      return self.showLinked();
    }, function (error) { self.fail(error); });
  };

  /** The API cannot be reached or refused: say so in the widget's area (above whatever the page
   * rendered there, which stays), and tell the site's developer the likely cause. */
  Widget.prototype.fail = function (error) {
    if (this.source) { this.source.close(); this.showLive("off"); }
    this.early = [];
    var message = error instanceof ApiError && error.status === 404
      ? this.t("Comments are not available for this article.")
      : this.t("The comments could not be loaded. Please try again later.");
    this.show(h("div", { class: "cw cw-failed" }, h("p", { class: "cw-error", role: "alert" }, message)), h("slot"));
    if (window.console) console.error(diagnose(error, this.key));
  };

  /** A link to #comment-N: show that comment (with its thread, fetched if it is not on the first
   * page), scroll to it and focus it. */
  Widget.prototype.showLinked = function () {
    var self = this, match = /^#comment-(\d+)$/.exec(location.hash);
    if (!match) return;
    var id = Number(match[1]);
    if (this.nodes.has(id)) { this.reveal(this.nodes.get(id)); return; }
    var fetchComment = function (n) { return self.session.request("GET", self.url("comments/" + n + "/")); };
    // Climb to the thread's root; a step that fails (a removed parent) leaves the highest one found.
    function climb(comment, steps) {
      if (!comment.parent || steps >= 20) return comment;
      return fetchComment(comment.parent).then(function (parent) { return climb(parent, steps + 1); }, function () { return comment; });
    }
    return fetchComment(id).then(function (comment) {
      if (comment.article !== self.key) return;  // another article's comment (another widget's)
      return Promise.resolve(climb(comment, 0)).then(function (top) {
        if (!self.nodes.has(id)) {  // not drawn meanwhile (a sort, more comments, the stream)
          var shown = self.nodes.get(top.id), li = self.commentNode(top);
          if (shown) { self.forget(shown); shown.replaceWith(li); }
          else { li.classList.add("cw-linked"); self.thread.prepend(li); self.linkedNote.hidden = false; }
          self.updateEmpty();
        }
        // A reply past "Show N more replies": show more until it is there.
        return self.nodes.has(top.id) && self.expandUntil(self.nodes.get(top.id), id);
      }).then(function () {
        if (self.nodes.has(id)) self.reveal(self.nodes.get(id));
      });
    }, function (error) {
      self.announce(error.status === 404 ? "The comment you followed a link to is no longer available." : describe(error));
    });
  };

  Widget.prototype.reveal = function (li) {
    li.scrollIntoView({ block: "start" });
    li.focus({ preventScroll: true });
  };

  /** Drop a comment's <li> and those of its replies from ``nodes`` (before it is replaced). */
  Widget.prototype.forget = function (li) {
    [li].concat(Array.from(li.querySelectorAll(".cw-comment"))).forEach(function (el) {
      var id = Number(el.getAttribute("data-comment-id"));
      if (this.nodes.get(id) === el) this.nodes.delete(id);
    }, this);
  };

  /* --- Rendering: the thread and its comments ------------------------------------------------
   * Draws API answers; uses the widget's ``nodes`` (id -> <li>), ``thread``, ``session``. */

  var Rendering = {};

  Rendering.render = function (page) {
    var root = this.root, id = this.uid;
    // Carry over what the reader already typed into the plain form (and the focus, so that typing
    // goes on in the widget's box), and keep that form's hooks (#comment-form, #id_body, .thread,
    // button.new-comments) for scripts written for the plain page.
    var plain = root.querySelector("#comment-form textarea[name=body]");
    this.plainForm = plain ? { draft: plain.value, focused: document.activeElement === plain } : null;
    // The page's heading for the section is replaced by the widget's own.
    var label = root.getAttribute("aria-labelledby");
    if (label && root.querySelector("#" + CSS.escape(label))) root.removeAttribute("aria-labelledby");
    this.countEl = h("span", { "data-comment-count": this.key });
    this.status = h("p", { class: "cw-status", role: "status" });
    this.account = h("div", { class: "cw-account" });
    this.compose = h("div", { class: "cw-compose" });
    this.newButton = h("button", { type: "button", class: "cw-new new-comments", hidden: true, onclick: this.showQueued.bind(this) });
    // A polite live region that is always there, so the notice is announced when it appears.
    this.newRegion = h("div", { class: "cw-new-region", "aria-live": "polite" }, this.newButton);
    this.linkedNote = h("p", { class: "cw-linked-note", hidden: true },
      "Showing the thread you followed a link to first; the rest of the discussion follows.");
    this.sortButtons = SORTS.map(function (sort) {
      return h("button", { type: "button", class: "cw-sort", "data-sort": sort[0], "aria-pressed": String(sort[0] === this.sort), onclick: this.changeSort.bind(this, sort[0]) }, sort[1]);
    }, this);
    this.thread = h("ol", { class: "cw-thread thread" });
    this.empty = h("p", { class: "cw-empty" });
    this.moreButton = h("button", { type: "button", class: "cw-more", hidden: true, onclick: this.loadMore.bind(this) }, "Show more comments");
    this.container = h("div", { class: "cw", role: "region", "aria-labelledby": id + "-heading", "data-live": root.getAttribute("data-live") },
      h("div", { class: "cw-header" },
        h("h2", { id: id + "-heading", class: "cw-heading", tabindex: "-1" }, "Comments ",
          h("span", { class: "cw-count", "aria-live": "polite", "aria-atomic": "true" },
            h("span", { class: "cw-sr" }, "Comment count: "), this.countEl)),
        h("div", { class: "cw-sorts", role: "group", "aria-label": "Sort comments" }, h("span", { class: "cw-sort-label", "aria-hidden": "true" }, "Sort:"), ...this.sortButtons)),
      this.account, this.compose, this.status, this.newRegion, this.linkedNote, this.thread, this.empty, this.moreButton);
    this.renderAccount();
    if (this.host === root) root.replaceChildren(); else root.replaceChildren(this.host);
    this.show(this.container);
    if (this.plainForm && this.plainForm.focused) {
      var box = this.compose.querySelector("textarea");
      if (box) { box.focus(); box.setSelectionRange(box.value.length, box.value.length); }
    }
    this.fillThread(page, false);
  };

  Rendering.renderAccount = function () {
    var reader = this.session.reader, self = this;
    if (reader) {
      put(this.account, ["Commenting as ", h("strong", { class: "cw-me" }, reader.display_name),
        this.session.token ? h("button", { type: "button", class: "cw-link", onclick: this.signOut.bind(this) }, "Sign out") : null]);
    } else if (!SAME_ORIGIN) {
      this.account.replaceChildren(
        h("button", { type: "button", class: "cw-link cw-sign-in", "aria-expanded": "false", onclick: function () { self.openSignIn(this); } }, "Sign in"),
        " or ", h("a", { href: this.session.signupUrl || BASE + "/accounts/signup/", target: "_blank", rel: "noopener" }, "create an account"),
        " to join the discussion.", h("div", { class: "cw-sign-in-slot" }));
    } else {
      var next = "?next=" + encodeURIComponent(location.pathname + location.search + "#" + (this.root.id || "comments"));
      this.account.replaceChildren(
        h("a", { href: (this.session.loginUrl || BASE + "/accounts/login/") + next }, "Sign in"), " or ",
        h("a", { href: (this.session.signupUrl || BASE + "/accounts/signup/") + next }, "create an account"), " to join the discussion.");
    }
    put(this.compose, [
      !this.open ? h("p", { class: "cw-notice" }, "Comments are closed on this article.")
        : reader ? this.commentForm({
          label: "Your comment", submitLabel: "Post comment", help: "Plain text; links work. Blank lines make paragraphs. Be civil.",
          value: this.plainForm && this.plainForm.draft, formId: this.plainForm && "comment-form", id: this.plainForm && "id_body",
          onsubmit: function (body) { return self.post(body, null); },
        }) : null]);
    if (this.plainForm) this.plainForm.draft = "";  // carried over once
  };

  /** Show the article's count. ``asked``: for a count from an API answer, ``streamedCounts`` when
   * it was asked for; if the stream brought a count since, that one is newer and stays. (A sort
   * or a "more" answer built before a comment was posted must not take the count back.) */
  Rendering.setCount = function (n, asked) {
    if (asked !== undefined && asked !== this.streamedCounts) { this.updateEmpty(); return; }
    this.countEl.textContent = String(n);
    // and the page's own counts of this article (outside the widget)
    document.querySelectorAll("[data-comment-count]").forEach(function (el) {
      if (el.getAttribute("data-comment-count") === this.key) el.textContent = String(n);
    }, this);
    this.updateEmpty();
  };

  Rendering.updateEmpty = function () {
    var none = !this.thread.firstChild;
    this.empty.hidden = !none;
    this.empty.textContent = none ? "No comments yet." + (this.open ? " Be the first to comment." : "") : "";
  };

  Rendering.fillThread = function (page, append, asked) {
    if (!append) { this.nodes.clear(); this.thread.replaceChildren(); this.linkedNote.hidden = true; }
    var fragment = document.createDocumentFragment();
    page.results.forEach(function (comment) { fragment.append(this.commentNode(comment)); }, this);
    this.thread.append(fragment);
    this.next = page.next;
    this.moreButton.hidden = !page.next;
    this.setCount(page.count, asked);
  };

  Rendering.commentNode = function (comment) {
    var li = h("li", { class: "cw-comment", id: "comment-" + comment.id, "data-comment-id": comment.id, tabindex: "-1" });
    this.nodes.set(comment.id, li);
    this.fillComment(li, comment);
    var replies = li.querySelector(":scope > .cw-replies");
    (comment.replies || []).forEach(function (reply) { replies.append(this.commentNode(reply)); }, this);
    var more = comment.more_replies;
    if (more && more.next) li.append(this.moreRepliesButton(li, more.count, more.next));
    return li;
  };

  /* long threads: the API sends a top-level comment with its first replies only */

  /** "Show N more replies" under a comment whose replies the API cut (``more_replies``). */
  Rendering.moreRepliesButton = function (li, count, next) {
    var self = this;
    var button = h("button", { type: "button", class: "cw-more-replies", onclick: function () { self.loadReplies(li, button, true); } });
    button.next = next;
    button.textContent = "Show " + plural(count, "more reply", "more replies");
    return button;
  };

  /** Fetch the next batch of ``li``'s replies and put each under its parent; resolves to
   * whether it worked. ``focus``: move focus to the first reply shown (a click, not a link). */
  Rendering.loadReplies = function (li, button, focus) {
    var self = this;
    if (button.disabled) return Promise.resolve(false);
    button.disabled = true;
    return this.session.request("GET", new URL(button.next, BASE).href).then(function (batch) {
      var first = null;
      batch.results.forEach(function (comment) {
        var created = self.attachReply(comment, li);
        if (!first) first = created;
      });
      if (batch.next) {
        button.next = batch.next;
        button.textContent = "Show " + plural(batch.remaining, "more reply", "more replies");
        button.disabled = false;
      } else button.remove();
      if (focus && first) first.focus();
      return true;
    }, function (error) { button.disabled = false; self.announce(describe(error)); return false; });
  };

  /** A reply from a batch, under its parent (or at the end of ``top``'s replies); returns its
   * new <li>, or null when it was shown already (posted here, or from the stream). */
  Rendering.attachReply = function (comment, top) {
    var li = this.nodes.get(comment.id), created = null;
    if (!li) {
      var parent = this.nodes.get(comment.parent) || top;
      li = created = this.commentNode(Object.assign({}, comment, { replies: [] }));
      parent.querySelector(":scope > .cw-replies").append(li);
    }
    (comment.replies || []).forEach(function (reply) { this.attachReply(reply, top); }, this);
    return created;
  };

  /** Show more of ``top``'s replies until comment ``id`` is among them (a link to a cut reply). */
  Rendering.expandUntil = function (top, id) {
    var self = this, button = top.querySelector(":scope > .cw-more-replies");
    if (this.nodes.has(id) || !button) return Promise.resolve();
    return this.loadReplies(top, button, false).then(function (worked) { if (worked) return self.expandUntil(top, id); });
  };

  /** (Re)draw a comment's own content, keeping its replies list. */
  Rendering.fillComment = function (li, comment) {
    var self = this, replies = li.querySelector(":scope > .cw-replies"), more = li.querySelector(":scope > .cw-more-replies");
    li.comment = comment;
    li.classList.toggle("cw-pending", comment.status === "pending");
    li.classList.toggle("cw-tombstone", comment.is_deleted);
    if (comment.is_deleted) {
      li.removeAttribute("aria-labelledby");
      li.replaceChildren(h("p", { class: "cw-removed" }, "This comment was removed."), replies || h("ol", { class: "cw-replies" }));
      if (more) li.append(more);
      return;
    }
    var author = comment.author ? comment.author.display_name : "Reader", ref = this.uid + "-c" + comment.id;
    li.setAttribute("aria-labelledby", ref + "-author " + ref + "-body");  // what a screen reader says when focus lands here
    var created = new Date(comment.created_at);
    var answered = comment.in_reply_to && comment.in_reply_to !== comment.parent && this.nodes.get(comment.in_reply_to);
    var head = h("header", { class: "cw-head" },
      h("span", { class: "cw-avatar", "aria-hidden": "true" }, Array.from(author.trim())[0] || "?"),
      h("span", { class: "cw-author", id: ref + "-author" }, author),
      answered ? h("a", { class: "cw-in-reply", href: "#comment-" + comment.in_reply_to }, "replying to " + ((answered.comment.author || {}).display_name || "a comment")) : null,
      h("a", { class: "cw-time", href: "#comment-" + comment.id }, h("time", { datetime: comment.created_at }, dateFormat.format(created))),
      comment.edited_at ? h("span", { class: "cw-edited" }, "(edited)") : null,
      comment.status === "pending" ? h("span", { class: "cw-badge", title: "Only you can see it until a moderator approves it." }, "Awaiting moderation") : null);
    var body = h("div", { class: "cw-body", id: ref + "-body" });
    body.innerHTML = comment.body_html;  // sanitized by the server (bleach allowlist); the only HTML we insert
    var actions = h("div", { class: "cw-actions" });
    var approved = comment.status === "approved", signedIn = !!this.session.reader;
    var own = signedIn && comment.author && comment.author.id === this.session.reader.id;
    actions.append(signedIn && approved
      ? h("button", { type: "button", class: "cw-like", "aria-pressed": String(comment.liked), onclick: function () { self.toggleLike(li); } },
        comment.liked ? "Liked" : "Like", h("span", { class: "cw-like-count" }, " · " + comment.like_count),
        h("span", { class: "cw-sr" }, comment.like_count === 1 ? " like" : " likes"))
      : h("span", { class: "cw-likes" }, plural(comment.like_count, "like", "likes")));
    if (signedIn && approved && this.open) actions.append(h("button", { type: "button", class: "cw-link", "aria-expanded": "false", onclick: function () { self.openReply(li, this); } }, "Reply"));
    if (comment.can_edit) actions.append(h("button", { type: "button", class: "cw-link", onclick: function () { self.openEdit(li, this); } }, "Edit"));
    if (comment.can_delete) actions.append(h("button", { type: "button", class: "cw-link", onclick: function () { self.openDelete(li, this); } }, "Delete"));
    if (signedIn && approved && !own) {
      actions.append(h("button", { type: "button", class: "cw-link cw-report", disabled: !!comment.reported, onclick: function () { self.openFlag(li, this); } },
        comment.reported ? "Reported" : "Report"));
    }
    li.replaceChildren(h("div", { class: "cw-main" }, head, body, actions), h("div", { class: "cw-slot" }));
    li.append(replies || h("ol", { class: "cw-replies" }));
    if (more) li.append(more);
  };

  /** Take a comment out of the page (a tombstone if replies remain); returns where focus can go. */
  Rendering.removeComment = function (id) {
    var li = this.nodes.get(id);
    if (!li) return null;
    var parentLi = li.parentElement.closest(".cw-comment");
    if (li.querySelector(":scope > .cw-replies > li, :scope > .cw-more-replies")) {
      this.fillComment(li, Object.assign({}, li.comment, { is_deleted: true }));
      return li;
    }
    li.remove();
    this.nodes.delete(id);
    this.updateEmpty();
    return parentLi || this.container.querySelector(".cw-heading");
  };

  Rendering.announce = function (message) { this.status.textContent = message; };

  /* sorting and pages */

  Rendering.changeSort = function (sort) {
    var self = this;
    if (sort === this.sort) return;
    this.sort = sort;
    this.sortButtons.forEach(function (button) { button.setAttribute("aria-pressed", String(button.getAttribute("data-sort") === sort)); });
    var asked = this.streamedCounts;
    this.session.request("GET", this.listUrl()).then(function (page) {
      self.queued.clear();
      self.updateNotice();
      self.fillThread(page, false, asked);
      self.announce("Comments sorted by " + sort + ".");
    }, function (error) { self.announce(describe(error)); });
  };

  Rendering.loadMore = function () {
    var self = this, first, asked = this.streamedCounts;
    if (!this.next) return;
    this.moreButton.disabled = true;
    this.session.request("GET", new URL(this.next, BASE).href).then(function (page) {
      first = page.results[0];
      page.results = page.results.filter(function (comment) { return !self.nodes.has(comment.id); });
      self.fillThread(page, true, asked);
      self.moreButton.disabled = false;
      if (first && self.nodes.get(first.id)) self.nodes.get(first.id).focus();
    }, function (error) { self.moreButton.disabled = false; self.announce(describe(error)); });
  };

  /* --- Forms: the reader's writes --------------------------------------------------------------
   * Opens forms in a comment's slot and sends them; redraws through Rendering's fillComment,
   * commentNode, removeComment and announce. */

  var Forms = {};

  /** The inline area under a comment's actions: one open form at a time. */
  Forms.openSlot = function (li, content, opener) {
    var slot = li.querySelector(":scope > .cw-slot");
    if (slot.opener) slot.opener.setAttribute("aria-expanded", "false");
    slot.replaceChildren(content);
    slot.opener = opener;
    if (opener && opener.hasAttribute("aria-expanded")) opener.setAttribute("aria-expanded", "true");
    var field = content.querySelector("[data-autofocus]") || content.querySelector("textarea, input, button");
    if (field) field.focus();
  };

  Forms.closeSlot = function (li, refocus) {
    var slot = li.querySelector(":scope > .cw-slot"), opener = slot.opener;
    slot.replaceChildren();
    slot.opener = null;
    if (opener) {
      if (opener.hasAttribute("aria-expanded")) opener.setAttribute("aria-expanded", "false");
      if (refocus && opener.isConnected) opener.focus();
    }
  };

  /** A labelled textarea form; ``onsubmit(body)`` returns a promise, errors show in the form. */
  Forms.commentForm = function (options) {
    var id = options.id || this.uid + "-f" + ++mounted;
    var error = h("div", { class: "cw-error", role: "alert", hidden: true });
    var textarea = h("textarea", { id: id, name: "body", rows: options.rows || 4, required: true, "aria-describedby": options.help ? id + "-help" : null });
    textarea.value = options.value || "";
    var submit = h("button", { type: "submit", class: "cw-button" }, options.submitLabel);
    var form = h("form", { class: "cw-form", id: options.formId, novalidate: true },
      h("label", { for: id }, options.label), textarea,
      options.help ? h("p", { class: "cw-help", id: id + "-help" }, options.help) : null,
      error,
      h("div", { class: "cw-form-buttons" }, submit,
        options.oncancel ? h("button", { type: "button", class: "cw-button cw-secondary", onclick: options.oncancel }, "Cancel") : null));
    if (options.oncancel) form.addEventListener("keydown", function (event) { if (event.key === "Escape") options.oncancel(); });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!textarea.value.trim()) { showError("Write something before posting."); return; }
      submit.disabled = true;
      error.hidden = true;
      textarea.removeAttribute("aria-invalid");
      options.onsubmit(textarea.value).then(function () { submit.disabled = false; }, function (failure) {
        submit.disabled = false;
        showError(describe(failure));
      });
    });
    function showError(message) {
      error.textContent = message;
      error.hidden = false;
      textarea.setAttribute("aria-invalid", "true");
      textarea.focus();
    }
    return form;
  };

  Forms.post = function (body, parentLi) {
    var self = this;
    var payload = { body: body };
    if (parentLi) payload.parent = parentLi.comment.id;
    return this.session.request("POST", this.url("articles/" + encodeURIComponent(this.key) + "/comments/"), payload).then(function (comment) {
      self.queued.delete(comment.id);  // the stream may have announced it before this answer came
      self.updateNotice();
      var li = self.commentNode(comment);
      var list = comment.parent ? self.nodes.get(comment.parent).querySelector(":scope > .cw-replies") : self.thread;
      if (!comment.parent && self.sort === "newest") list.prepend(li); else list.append(li);
      if (parentLi) self.closeSlot(parentLi, false);
      else self.compose.querySelector("textarea").value = "";
      self.updateEmpty();
      self.announce(comment.status === "pending"
        ? "Thanks! Your comment is awaiting moderation; only you can see it for now."
        : parentLi ? "Your reply is published." : "Your comment is published.");
      li.focus();
      self.refreshCount();
    }, function (error) {
      if (error.code === "comments_closed") { self.open = false; self.renderAccount(); self.announce(describe(error)); }
      throw error;
    });
  };

  Forms.refreshCount = function () {
    var self = this, asked = this.streamedCounts;
    this.session.request("GET", this.url("articles/" + encodeURIComponent(this.key) + "/")).then(function (article) { self.setCount(article.comment_count, asked); }, function () {});
  };

  Forms.openReply = function (li, opener) {
    var self = this, author = li.comment.author ? li.comment.author.display_name : "this comment";
    this.openSlot(li, this.commentForm({
      label: "Reply to " + author, submitLabel: "Post reply", rows: 3,
      onsubmit: function (body) { return self.post(body, li); },
      oncancel: function () { self.closeSlot(li, true); },
    }), opener);
  };

  Forms.openEdit = function (li, opener) {
    var self = this, comment = li.comment;
    this.openSlot(li, this.commentForm({
      label: "Edit your comment", submitLabel: "Save changes", value: comment.body !== undefined ? comment.body : editableText(comment.body_html),
      onsubmit: function (body) {
        return self.session.request("PATCH", self.url("comments/" + comment.id + "/"), { body: body }).then(function (updated) {
          self.closeSlot(li, false);
          self.fillComment(li, updated);
          self.announce(updated.status === "pending" ? "Your edit is saved and awaits moderation." : "Your comment is updated.");
          li.focus();
        });
      },
      oncancel: function () { self.closeSlot(li, true); },
    }), opener);
  };

  Forms.openDelete = function (li, opener) {
    var self = this, error = h("p", { class: "cw-error", role: "alert", hidden: true });
    var confirm = h("div", { class: "cw-confirm", role: "group", "aria-label": "Confirm deletion" },
      h("p", {}, "Delete this comment? This cannot be undone."), error,
      h("div", { class: "cw-form-buttons" },
        h("button", { type: "button", class: "cw-button cw-danger", onclick: function () {
          self.session.request("DELETE", self.url("comments/" + li.comment.id + "/")).then(function () {
            var next = self.removeComment(li.comment.id);
            self.announce("Your comment is deleted.");
            if (next) next.focus();
            self.refreshCount();
          }, function (failure) { error.textContent = describe(failure); error.hidden = false; });
        } }, "Delete"),
        // Focus starts on the safe choice: Enter twice must not delete.
        h("button", { type: "button", class: "cw-button cw-secondary", "data-autofocus": true, onclick: function () { self.closeSlot(li, true); } }, "Cancel")));
    this.openSlot(li, confirm, opener);
  };

  Forms.openFlag = function (li, opener) {
    var self = this, name = this.uid + "-reason-" + li.comment.id, noteId = name + "-note";
    var error = h("p", { class: "cw-error", role: "alert", hidden: true });
    var note = h("textarea", { id: noteId, name: "note", rows: 2, maxlength: 500 });
    var form = h("form", { class: "cw-form cw-flag-form", novalidate: true },
      h("fieldset", {}, h("legend", {}, "Why are you reporting this comment?"),
        ...REASONS.map(function (reason) {
          return h("label", { class: "cw-radio" }, h("input", { type: "radio", name: name, value: reason[0] }), " " + reason[1]);
        })),
      h("label", { for: noteId }, "Anything to add? (optional)"), note, error,
      h("div", { class: "cw-form-buttons" }, h("button", { type: "submit", class: "cw-button" }, "Send report"),
        h("button", { type: "button", class: "cw-button cw-secondary", onclick: function () { self.closeSlot(li, true); } }, "Cancel")));
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var choice = form.querySelector("input[type=radio]:checked");
      if (!choice) { error.textContent = "Choose a reason."; error.hidden = false; form.querySelector("input").focus(); return; }
      self.session.request("POST", self.url("comments/" + li.comment.id + "/flag/"), { reason: choice.value, note: note.value }).then(function () {
        self.closeSlot(li, false);
        li.comment.reported = true;
        self.fillComment(li, li.comment);
        self.announce("Thank you for your report; a moderator will look at it.");
        li.focus();
      }, function (failure) { error.textContent = describe(failure); error.hidden = false; });
    });
    this.openSlot(li, form, opener);
  };

  Forms.toggleLike = function (li) {
    var self = this, comment = li.comment;
    this.session.request(comment.liked ? "DELETE" : "POST", this.url("comments/" + comment.id + "/like/")).then(function (result) {
      comment.liked = result.liked;
      comment.like_count = result.like_count;
      self.fillComment(li, comment);
      li.querySelector(".cw-like").focus();
    }, function (error) { self.announce(describe(error)); });
  };

  /* --- Live: the article's event stream ------------------------------------------------------
   * Keeps the count current and offers "N new comments — show" without moving the thread;
   * draws through Rendering's setCount, commentNode, fillComment and removeComment. */

  var Live = {};

  /** Opens the article's event stream; resolves once it is open, has failed, or is slow to open
   * (proxies that buffer must not hold the widget back). Events wait until the thread is drawn. */
  Live.listen = function () {
    if (!window.EventSource) return Promise.resolve();
    var self = this, settle;
    var ready = new Promise(function (resolve) { settle = resolve; setTimeout(resolve, 1500); });
    var source = new EventSource(this.url("articles/" + encodeURIComponent(this.key) + "/events/"));
    function data(event) { try { return JSON.parse(event.data); } catch (e) { return null; } }
    function on(name, handle) {
      source.addEventListener(name, function (event) {
        var payload = data(event);
        if (!payload) return;
        if (self.rendered) handle(payload); else self.early.push({ event: name, run: function () { handle(payload); } });
      });
    }
    // Lets a page (and the tests) tell whether live updates are flowing.
    source.addEventListener("open", function () {
      self.live = true;
      self.showLive("connected");
      settle();
      // Opened after the thread was read (late, or again after a drop): fetch what may be missing.
      if (self.behind && self.rendered) self.catchUp();
    });
    source.addEventListener("error", function () {
      self.live = false;
      if (self.rendered) self.behind = true;
      self.showLive(source.readyState === EventSource.CLOSED ? "off" : "reconnecting");
      settle();
    });
    on("count", function (payload) {
      if (typeof payload.count !== "number") return;
      self.streamedCounts += 1;
      self.setCount(payload.count);
    });
    on("comment", function (comment) { self.offer(comment, true); });
    on("edit", function (comment) { self.offer(comment, false); });
    on("remove", function (payload) {
      self.removed.add(payload.id);
      self.queued.delete(payload.id);
      self.updateNotice();
      var li = self.nodes.get(payload.id);
      if (!li || li.querySelector(":scope > .cw-slot > *")) return;  // never pull a form from under the reader
      var hadFocus = li.contains(self.shadow.activeElement), next = self.removeComment(payload.id);
      if (hadFocus && next) next.focus();
    });
    this.source = source;
    return ready;
  };

  /** Lets the page (live.js, which polls the counts while the stream is down) and the tests
   * tell whether live updates are flowing: data-live on the mount element and on the widget. */
  Live.showLive = function (state) {
    this.root.setAttribute("data-live", state);
    if (this.container) this.container.setAttribute("data-live", state);
  };

  /** A comment from the stream or a catch-up: redraw it if shown, else (if ``isNew``) offer it. */
  Live.offer = function (comment, isNew) {
    if (typeof comment.id !== "number") return;
    var li = this.nodes.get(comment.id);
    if (li) {  // already shown: redraw an approval or an edit, unless a form is open there
      var shown = li.comment, changed = ["body_html", "edited_at", "status"].some(function (f) { return shown[f] !== comment[f]; });
      if (changed && !li.querySelector(":scope > .cw-slot > *")) {
        this.fillComment(li, Object.assign({}, comment, { liked: shown.liked, can_edit: shown.can_edit, can_delete: shown.can_delete }));
      }
      return;
    }
    if (this.queued.has(comment.id)) { this.queued.set(comment.id, comment); return; }  // an edit before "show"
    if (!isNew || this.removed.has(comment.id)) return;
    if (comment.parent && !this.nodes.has(comment.parent)) return;  // its thread is not on this page
    this.queued.set(comment.id, comment);
    this.updateNotice();
  };

  /** The newest comments, read again after the stream opened: any not shown yet are "new". */
  Live.catchUp = function () {
    var self = this;
    this.behind = false;
    this.session.request("GET", this.url("articles/" + encodeURIComponent(this.key) + "/comments/?sort=newest")).then(function (page) {
      (function walk(comments) {
        comments.forEach(function (comment) { self.offer(comment, true); walk(comment.replies || []); });
      })(page.results);
    }, function () { self.behind = true; });
  };

  Live.updateNotice = function () {
    var n = this.queued.size;
    this.newButton.hidden = n === 0;
    this.newButton.textContent = n ? plural(n, "new comment", "new comments") + " — show" : "";
  };

  Live.showQueued = function () {
    var self = this, first = null;
    Array.from(this.queued.values()).sort(function (a, b) { return a.id - b.id; }).forEach(function (comment) {
      if (self.nodes.has(comment.id)) return;
      var parent = comment.parent && self.nodes.get(comment.parent);
      if (comment.parent && !parent) return;
      var li = self.commentNode(Object.assign({ replies: [] }, comment));
      if (parent) parent.querySelector(":scope > .cw-replies").append(li);
      else if (self.sort === "newest") self.thread.prepend(li);
      else self.thread.append(li);
      if (!first || (!comment.parent && self.sort === "newest")) first = li;
    });
    this.queued.clear();
    this.updateNotice();
    this.updateEmpty();
    if (first) first.focus();
  };

  /* --- SignIn: inside an embedded widget, through allauth's app API -------------------------- */

  var SignIn = {};

  /** Sign in from inside an embedded widget (allauth's app API): works without third-party cookies. */
  SignIn.openSignIn = function (opener) {
    var self = this, slot = this.account.querySelector(".cw-sign-in-slot"), id = this.uid + "-login";
    if (slot.firstChild) { slot.replaceChildren(); opener.setAttribute("aria-expanded", "false"); return; }
    var error = h("p", { class: "cw-error", role: "alert", hidden: true });
    var email = h("input", { id: id + "-email", type: "email", name: "email", autocomplete: "email", required: true });
    var password = h("input", { id: id + "-password", type: "password", name: "password", autocomplete: "current-password", required: true });
    var form = h("form", { class: "cw-form cw-login" },
      h("label", { for: email.id }, "Email"), email, h("label", { for: password.id }, "Password"), password, error,
      h("div", { class: "cw-form-buttons" }, h("button", { type: "submit", class: "cw-button" }, "Sign in"),
        h("button", { type: "button", class: "cw-button cw-secondary", onclick: function () { slot.replaceChildren(); opener.setAttribute("aria-expanded", "false"); opener.focus(); } }, "Cancel")));
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      self.session.signIn(email.value, password.value).then(function () {
        return self.afterSessionChange();
      }).then(function () {
        self.announce("You are signed in.");
        var box = self.compose.querySelector("textarea");
        if (box) box.focus();
      }, function (failure) {
        error.textContent = failure.flows ? "Confirm your email address first (we sent you a link), then sign in."
          : failure.status === 400 ? failure.detail : describe(failure);
        error.hidden = false;
        email.focus();
      });
    });
    slot.replaceChildren(form);
    opener.setAttribute("aria-expanded", "true");
    email.focus();
  };

  SignIn.signOut = function () {
    var self = this;
    this.session.signOut().then(function () {
      return self.afterSessionChange();
    }).then(function () { self.announce("You are signed out."); });
  };

  /** Someone else is reading now: redraw the form and the thread (likes, edit rights differ). */
  SignIn.afterSessionChange = function () {
    var self = this;
    this.renderAccount();
    var asked = this.streamedCounts;
    return this.session.request("GET", this.listUrl()).then(function (page) { self.fillThread(page, false, asked); });
  };

  SignIn.refreshSession = function () {
    var self = this, before = this.session.reader && this.session.reader.id;
    this.session.load().then(function () {
      if ((self.session.reader && self.session.reader.id) !== before) return self.afterSessionChange();
    }).catch(function () {});
  };

  Object.assign(Widget.prototype, Rendering, Forms, Live, SignIn);

  /* --- start ---------------------------------------------------------------------------------- */

  function mountAll() {
    document.querySelectorAll("[data-comments-article]").forEach(function (root) {
      if (root.commentsWidget) return;
      root.commentsWidget = new Widget(root);
      root.commentsWidget.start();
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mountAll);
  else mountAll();
})();
