/* Glossarian embed: one script on a wiki adds a chat launcher and marks glossary terms on the page.
 *
 *   <script src="https://glossarian.example.com/embed.js" data-lang="auto" async></script>
 *   mw.loader.load("https://glossarian.example.com/embed.js");          (MediaWiki:Common.js)
 *   Glossarian.init({server: "https://glossarian.example.com/"});       (when the script was pasted or eval'd)
 *
 * Settings (data-* on the script tag, window.GlossarianConfig, or Glossarian.init): server, lang (auto|zh|en),
 * position (bottom-right|bottom-left|top-right|top-left), label, theme (auto|light|dark), open (true|false),
 * highlight (true|false), scan (CSS selector of the text to mark), every (mark every occurrence), storage
 * (session|local|none). The chat talks to POST /api/ask (CORS) and sends the earlier turns, so follow-ups keep
 * their subject; the conversation lives in this site's sessionStorage and survives page changes.
 * Everything visible lives in one shadow root; on the page itself only text becomes <glossarian-term> marks.
 */
(function () {
  "use strict";
  if (window.Glossarian && window.Glossarian.init) return; // included twice: the first copy wins

  var script = document.currentScript;
  var KEYS = ["server", "lang", "position", "label", "theme", "open", "highlight", "scan", "every", "storage"];
  var DEFAULTS = {
    server: "", lang: "auto", position: "bottom-right", label: "", theme: "auto", open: false, highlight: true,
    scan: ".mw-parser-output, .wiki-content, .page-content, .dokuwiki .page, main, article, [role=main], body",
    every: false, storage: "session"
  };
  var STORE_KEY = "glossarian:conversation";
  var RETRY_MS = 5000;
  var START_RETRIES = 60; // 5 min: a first start builds the index (~1 s per entry on 2 cores)
  var MAX_TURNS_SENT = 20; // as the server's own chat: recent turns carry the subject of a follow-up
  var T = {
    zh: {
      label: "术语助手", close: "关闭", fresh: "新对话", send: "发送", placeholder: "问一个术语，例如：什么是 GAP？",
      intro: "深度学习术语助手：用中文或英文提问，回答会注明出处 [n]。",
      examples: ["什么是骨干网络？", "GAP 和 GMP 有什么区别？", "算一下 [1,2,3] 温度 0.5 的 softmax"],
      connecting: "正在连接 Glossarian…", thinking: "正在回答…", sources: "来源", tool: "工具",
      figure: "图表请在完整聊天页查看", more: "问更多", askAbout: function (t) { return "什么是" + t.zh + "（" + t.en + "）？"; },
      refused: function (o) { return "此网站（" + o + "）未被允许使用 Glossarian。管理员：请把它加入服务器设置 GLOSSARIAN_ALLOWED_ORIGINS（wiki 的每个主机名和 http/https 都要列出）。"; },
      unreachable: "Glossarian 服务器无法连接，正在重试…", csp: "本站的内容安全策略（CSP）阻止了 Glossarian：管理员需要在 connect-src 和 script-src 中允许 ",
      failed: "请求失败："
    },
    en: {
      label: "Glossary", close: "Close", fresh: "New conversation", send: "Send", placeholder: "Ask about a term, e.g. What is GAP?",
      intro: "A deep-learning glossary: ask in English or Chinese; answers cite their sources [n].",
      examples: ["What is a backbone?", "Why use label smoothing?", "softmax of [1, 2, 3] at temperature 0.5"],
      connecting: "Connecting to Glossarian…", thinking: "Answering…", sources: "Sources", tool: "Tool",
      figure: "the figure is in the full chat page", more: "Ask more", askAbout: function (t) { return "What is " + t.en + " (" + t.zh + ")?"; },
      refused: function (o) { return "This site (" + o + ") is not allowed to use Glossarian. Admin: add it to the server setting GLOSSARIAN_ALLOWED_ORIGINS (every hostname of the wiki, http and https)."; },
      unreachable: "The Glossarian server is unreachable, retrying…", csp: "This site's Content-Security-Policy blocks Glossarian: the admin must allow it in connect-src and script-src: ",
      failed: "The request failed: "
    }
  };

  var cfg = null, words = T.en, pageLang = "en", started = false;
  var ui = {}, turns = [], terms = null, matcher = null, state = "idle", busy = false, retryTimer = null;
  var termsPromise = null, cardTimer = null, cardTerm = null, hlPromise = null;
  window.Glossarian = { init: init, stats: null };

  function bool(v) { return v === true || v === "" || v === "true" || v === "1" || v === "yes"; }

  function readConfig(options) {
    var c = {}, k;
    for (k in DEFAULTS) c[k] = DEFAULTS[k];
    var sources = [window.GlossarianConfig || {}, {}, options || {}];
    if (script) KEYS.forEach(function (key) {
      var v = script.getAttribute("data-" + key);
      if (v !== null) sources[1][key] = v;
    });
    sources.forEach(function (s) { KEYS.forEach(function (key) { if (s[key] !== undefined) c[key] = s[key]; }); });
    ["open", "highlight", "every"].forEach(function (key) { c[key] = bool(c[key]); });
    if (!c.server && script && script.src) c.server = new URL(".", script.src).href; // keeps a proxy prefix
    if (c.server) c.server = new URL(c.server, location.href).href.replace(/\/?$/, "/");
    return c;
  }

  function init(options) {
    if (started) return window.Glossarian;
    cfg = readConfig(options);
    if (!cfg.server) {
      console.error("Glossarian: no server URL. Load embed.js with <script src=…> or mw.loader.load(URL), or call " +
                    "Glossarian.init({server: 'https://glossarian.example.com/'}).");
      return window.Glossarian;
    }
    started = true;
    var docLang = (document.documentElement.lang || navigator.language || "en").toLowerCase();
    pageLang = cfg.lang === "zh" || cfg.lang === "en" ? cfg.lang : (docLang.indexOf("zh") === 0 ? "zh" : "en");
    words = T[pageLang];
    turns = load().turns || [];
    build();
    document.addEventListener("securitypolicyviolation", function (e) {
      if (String(e.blockedURI || "").indexOf(cfg.server.replace(/\/$/, "")) === 0) setState("csp");
    });
    if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
    var api = { init: init, open: open, close: close, toggle: toggle, ask: ask, newConversation: newConversation,
                rescan: highlightPage, config: Object.freeze(Object.assign({}, cfg)), stats: null };
    window.Glossarian = api;
    return api;
  }

  // ---- storage: this site's sessionStorage (or localStorage, or nothing), one key ----
  function store() {
    try { return cfg.storage === "local" ? localStorage : cfg.storage === "none" ? null : sessionStorage; }
    catch (e) { return null; } // storage disabled by the browser
  }
  function load() {
    try { var s = store(), v = s && JSON.parse(s.getItem(STORE_KEY) || "{}"); return v && v.server === cfg.server ? v : {}; }
    catch (e) { return {}; }
  }
  function save() {
    try { var s = store(); if (s) s.setItem(STORE_KEY, JSON.stringify({ server: cfg.server, turns: turns, open: !ui.panel.hidden })); }
    catch (e) { /* full or disabled: the conversation just does not survive this page */ }
  }

  // ---- building the UI ----
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text) e.textContent = text;
    return e;
  }
  function button(cls, text, title, marker) {
    var b = el("button", cls, text);
    b.type = "button";
    if (title) { b.title = title; b.setAttribute("aria-label", title); }
    if (marker) b.setAttribute("data-glossarian", marker);
    return b;
  }

  function build() {
    var label = cfg.label || (pageLang === "zh" ? "术语助手 · Glossary" : "Glossary · 术语助手");
    ui.host = document.createElement("glossarian-embed");
    ui.host.setAttribute("style", "all: initial;");
    var root = ui.host.attachShadow({ mode: "open" });
    var dark = cfg.theme === "dark" || (cfg.theme === "auto" && window.matchMedia && matchMedia("(prefers-color-scheme: dark)").matches);
    ui.wrap = el("div", "wrap " + cfg.position.split("-").join(" ") + (dark ? " dark" : ""));
    var style = el("style");
    style.textContent = CSS;
    ui.panel = el("div", "panel");
    ui.panel.hidden = true;
    ui.panel.setAttribute("role", "dialog");
    ui.panel.setAttribute("aria-label", label);
    ui.panel.setAttribute("data-glossarian", "panel");
    var bar = el("div", "bar");
    bar.appendChild(el("span", "title", label));
    ui.fresh = button("icon", "\u21bb", words.fresh, "new");
    ui.close = button("icon", "\u00d7", words.close, "close");
    bar.appendChild(ui.fresh);
    bar.appendChild(ui.close);
    ui.status = el("div", "status");
    ui.status.setAttribute("role", "status");
    ui.status.setAttribute("data-glossarian", "status");
    ui.log = el("div", "log");
    ui.log.setAttribute("role", "log");
    ui.log.setAttribute("data-glossarian", "log");
    ui.form = el("form", "ask");
    ui.box = el("textarea");
    ui.box.rows = 1;
    ui.box.placeholder = words.placeholder;
    ui.box.setAttribute("aria-label", words.placeholder);
    ui.box.setAttribute("data-glossarian", "input");
    ui.send = button("send", "\u27a4", words.send, "send");
    ui.send.type = "submit";
    ui.form.appendChild(ui.box);
    ui.form.appendChild(ui.send);
    [bar, ui.status, ui.log, ui.form].forEach(function (x) { ui.panel.appendChild(x); });
    ui.launcher = button("launcher", "", label, "launcher");
    ui.launcher.setAttribute("aria-expanded", "false");
    ui.launcher.innerHTML = ICON; // a constant, never page or user data
    ui.card = el("div", "card");
    ui.card.hidden = true;
    ui.card.setAttribute("role", "tooltip");
    ui.card.setAttribute("data-glossarian", "card");
    [ui.panel, ui.launcher, ui.card].forEach(function (x) { ui.wrap.appendChild(x); });
    root.appendChild(style);
    root.appendChild(ui.wrap);

    ui.launcher.addEventListener("click", toggle);
    ui.close.addEventListener("click", close);
    ui.fresh.addEventListener("click", newConversation);
    ui.form.addEventListener("submit", function (e) { e.preventDefault(); ask(ui.box.value); });
    ui.box.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); ask(ui.box.value); }
    });
    ui.log.addEventListener("click", onLogClick);
    ui.card.addEventListener("mouseenter", function () { clearTimeout(cardTimer); });
    ui.card.addEventListener("mouseleave", function () { hideCardSoon(); });
    document.addEventListener("keydown", function (e) {
      if (e.key !== "Escape") return;
      if (!ui.card.hidden) hideCard(); else if (!ui.panel.hidden) close();
    });
  }

  function mount() {
    document.body.appendChild(ui.host);
    var page = document.createElement("style"); // only our own elements: the page's styles are left alone
    page.setAttribute("data-glossarian", "marks");
    page.textContent = PAGE_CSS;
    (document.head || document.body).appendChild(page);
    if (cfg.highlight) highlightPage();
    if (cfg.open || load().open) open();
  }

  // ---- connection: the term list doubles as the reachability and origin check ----
  function connect() {
    if (termsPromise) return termsPromise;
    if (state !== "ready") setState("connecting");
    termsPromise = fetch(cfg.server + "api/terms", { credentials: "omit" }).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    }).then(function (doc) {
      terms = doc.terms || [];
      setState("ready");
      return terms;
    }, function (err) {
      termsPromise = null;
      // A CORS refusal and a dead server look alike to fetch; an opaque request tells them apart.
      return fetch(cfg.server + "livez", { mode: "no-cors", credentials: "omit" }).then(function () {
        if (state !== "csp") setState("refused");
        throw err;
      }, function () {
        if (state !== "csp") setState("unreachable");
        throw err;
      });
    });
    return termsPromise;
  }

  function setState(next) {
    state = next;
    var text = next === "connecting" ? words.connecting : next === "refused" ? words.refused(location.origin)
      : next === "unreachable" ? words.unreachable : next === "csp" ? words.csp + cfg.server : "";
    ui.status.textContent = text;
    ui.status.className = "status " + next;
    ui.status.hidden = !text;
    var blocked = next === "refused" || next === "csp";
    ui.box.disabled = blocked || busy;
    ui.send.disabled = blocked || busy;
    clearTimeout(retryTimer);
    if (next === "unreachable" && !ui.panel.hidden) retryTimer = setTimeout(function () {
      connect().then(function () { if (cfg.highlight && !hlPromise) highlightPage(); }, function () {});
    }, RETRY_MS);
    if (next === "unreachable" || next === "refused" || next === "csp") {
      console.warn("Glossarian (" + cfg.server + "): " + text);
    }
  }

  // ---- the panel ----
  function open() {
    ui.panel.hidden = false;
    ui.wrap.classList.add("open");
    ui.launcher.setAttribute("aria-expanded", "true");
    renderLog();
    connect().then(function () { if (!busy) renderLog(); }, function () {});
    save();
    ui.box.focus();
  }
  function close() {
    ui.panel.hidden = true;
    ui.wrap.classList.remove("open");
    ui.launcher.setAttribute("aria-expanded", "false");
    save();
    ui.launcher.focus();
  }
  function toggle() { if (ui.panel.hidden) open(); else close(); }

  function newConversation() {
    turns = [];
    save();
    renderLog();
    ui.box.focus();
  }

  function history() {
    return turns.slice(-MAX_TURNS_SENT).map(function (t) { return { role: t.role, content: t.content }; });
  }

  function ask(question) {
    question = String(question || "").trim();
    if (!question || busy) return;
    if (ui.panel.hidden) open();
    if (state === "refused" || state === "csp") return;
    busy = true;
    ui.box.value = "";
    ui.box.disabled = ui.send.disabled = true;
    var mine = addBubble("user", esc(question));
    var wait = addBubble("bot pending", esc(words.thinking));
    // page and channel go to the question log, so maintainers see which wiki page a question came from.
    var body = JSON.stringify({ question: question, history: history(), page: location.href, channel: "widget" });
    function send(attempt) {
      return fetch(cfg.server + "api/ask", {
        method: "POST", credentials: "omit", headers: { "Content-Type": "application/json" }, body: body
      }).then(function (r) {
        return r.json().catch(function () { return { error: "HTTP " + r.status }; }).then(function (j) {
          // 503: the server is starting (loading the model, building the index); say so and ask again.
          if (r.status === 503 && attempt < START_RETRIES) {
            wait.textContent = j.error || words.connecting;
            return new Promise(function (ok) { setTimeout(ok, RETRY_MS); }).then(function () { return send(attempt + 1); });
          }
          if (!r.ok) throw { message: j.error + (j.hint ? " " + j.hint : ""), server: true };
          return j;
        });
      });
    }
    send(0).then(function (j) {
      turns.push({ role: "user", content: question });
      turns.push({ role: "assistant", content: j.answer, lang: j.language, sources: j.sources || [],
                   tools: (j.tool_calls || []).map(function (t) { return t.result; }) });
      save();
      renderLog();
      var bubbles = ui.log.querySelectorAll(".bot");
      scrollToStart(bubbles[bubbles.length - 1]);
    }, function (err) {
      [mine, wait].forEach(function (n) { if (n.parentNode) n.parentNode.removeChild(n); });
      ui.box.value = question; // kept, to send again
      var failed = addBubble("bot error", esc(words.failed + (err && err.server ? err.message : words.unreachable)));
      failed.setAttribute("data-glossarian", "error");
      if (!(err && err.server)) { termsPromise = null; connect().catch(function () {}); }
    }).then(function () {
      busy = false;
      setState(state);
      ui.box.focus();
    });
  }

  function addBubble(cls, html) {
    var b = el("div", "msg " + cls);
    b.innerHTML = html; // built from esc()'d text only
    ui.log.appendChild(b);
    ui.log.scrollTop = ui.log.scrollHeight;
    return b;
  }

  function scrollToStart(node) { if (node) ui.log.scrollTop = node.offsetTop - 8; } // .log is the offsetParent

  function renderLog() {
    ui.log.innerHTML = "";
    if (!turns.length) {
      var empty = el("div", "empty");
      empty.appendChild(el("p", "", words.intro));
      words.examples.forEach(function (q) {
        var chip = button("chip", q, "", "example");
        chip.addEventListener("click", function () { ask(q); });
        empty.appendChild(chip);
      });
      ui.log.appendChild(empty);
      return;
    }
    turns.forEach(function (t, i) {
      if (t.role === "user") { addBubble("user", esc(t.content)); return; }
      var b = addBubble("bot", renderTools(t) + markdown(t.content, i) + renderSources(t, i));
      b.setAttribute("data-glossarian", "answer");
    });
  }

  function byId(id) {
    for (var i = 0; terms && i < terms.length; i++) if (terms[i].id === id) return terms[i];
    return null;
  }

  function renderSources(t, turn) {
    if (!t.sources || !t.sources.length) return "";
    var lang = t.lang === "zh" ? "zh" : "en", w = T[lang];
    var cards = t.sources.map(function (s, n) {
      var term = byId(s.id), names = s.term_zh === s.term_en ? s.term_zh : s.term_zh + " · " + s.term_en;
      var sentence = term ? (term.def[lang] || term.def[lang === "zh" ? "en" : "zh"] || "") : "";
      return '<div class="src" id="src-' + turn + "-" + (n + 1) + '"><b>[' + (n + 1) + "] " + esc(names) +
        "</b>" + (sentence ? "<span>" + esc(sentence) + "</span>" : "") + "</div>";
    });
    return '<details class="sources"><summary>' + esc(w.sources) + " (" + cards.length + ")</summary>" + cards.join("") + "</details>";
  }

  function renderTools(t) {
    var w = T[t.lang === "zh" ? "zh" : "en"];
    return (t.tools || []).map(function (r) {
      var summary = (r.summary && (r.summary[t.lang] || r.summary.en)) || "";
      return '<details class="tool"><summary>' + esc(w.tool + ": " + r.name) + "</summary>" +
        (summary ? "<p>" + esc(summary) + "</p>" : "") + "<pre><code>" + esc(r.code || "") + "</code></pre>" +
        (r.has_figure ? '<p class="note"><a href="' + esc(cfg.server) + '" target="_blank" rel="noopener">' + esc(w.figure) + "</a></p>" : "") +
        "</details>";
    }).join("");
  }

  function onLogClick(e) {
    var cite = e.target.closest && e.target.closest("a.cite");
    if (!cite) return;
    e.preventDefault();
    var card = ui.log.querySelector("#" + cite.getAttribute("data-target"));
    if (!card) return;
    card.parentNode.open = true;
    scrollToStart(card);
    card.classList.remove("flash");
    void card.offsetWidth;
    card.classList.add("flash");
  }

  // ---- a small, safe Markdown: fenced code, lists, headings, **bold**, `code`, [n] citations ----
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function inline(text, turn) {
    return text.split(/(`[^`\n]+`)/).map(function (part, i) {
      if (i % 2) return "<code>" + esc(part.slice(1, -1)) + "</code>";
      return esc(part).replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>").replace(/\[(\d{1,2})\]/g, function (m, n) {
        return '<a href="#" class="cite" data-target="src-' + turn + "-" + n + '">[' + n + "]</a>";
      });
    }).join("");
  }
  function markdown(text, turn) {
    var out = [], list = null;
    function endList() { if (list) { out.push("</" + list + ">"); list = null; } }
    String(text || "").split(/(```[^\n]*\n[\s\S]*?(?:```|$))/).forEach(function (part, i) {
      if (i % 2) { endList(); out.push("<pre><code>" + esc(part.replace(/^```[^\n]*\n/, "").replace(/```$/, "")) + "</code></pre>"); return; }
      part.split("\n").forEach(function (line) {
        var m;
        if (!line.trim()) { endList(); return; }
        if ((m = /^\s*#{1,6}\s+(.*)$/.exec(line))) { endList(); out.push("<h4>" + inline(m[1], turn) + "</h4>"); return; }
        if ((m = /^\s*(?:[-*•]|(\d+)[.)])\s+(.*)$/.exec(line))) {
          var kind = m[1] ? "ol" : "ul";
          if (list !== kind) { endList(); out.push("<" + kind + ">"); list = kind; }
          out.push("<li>" + inline(m[2], turn) + "</li>");
          return;
        }
        endList();
        out.push("<p>" + inline(line, turn) + "</p>");
      });
    });
    endList();
    return out.join("");
  }

  // ---- term highlighting and the hover card ----
  function highlightPage() {
    hlPromise = Promise.all([connect(), loadHighlighter()]).then(function () {
      var t0 = performance.now();
      matcher = matcher || window.GlossarianTerms.compile(terms);
      var compileMs = performance.now() - t0, total = { marks: 0, ms: 0, textNodes: 0 };
      var roots = firstMatching(cfg.scan);
      roots.forEach(function (r) {
        var s = window.GlossarianTerms.highlight(r, matcher, { every: cfg.every });
        total.marks += s.marks; total.ms += s.ms; total.textNodes += s.textNodes;
      });
      total.compileMs = compileMs;
      window.Glossarian.stats = total;
      bindMarks();
      return total;
    }, function () { hlPromise = null; });
    return hlPromise;
  }

  // The first selector in the list that matches anything wins (".mw-parser-output, main, body" -> the wiki text).
  function firstMatching(selectors) {
    var list = String(selectors).split(",");
    for (var i = 0; i < list.length; i++) {
      var found;
      try { found = document.querySelectorAll(list[i].trim()); } catch (e) { continue; }
      if (found.length) return Array.prototype.slice.call(found);
    }
    return [];
  }

  function loadHighlighter() {
    if (window.GlossarianTerms) return Promise.resolve();
    return new Promise(function (resolve, reject) {
      var s = document.createElement("script");
      s.src = cfg.server + "highlight.js";
      s.async = true;
      s.onload = resolve;
      s.onerror = reject;
      document.head.appendChild(s);
    });
  }

  var bound = false;
  function bindMarks() {
    if (bound) return;
    bound = true;
    function markOf(e) { return e.target && e.target.closest ? e.target.closest("glossarian-term") : null; }
    document.addEventListener("mouseover", function (e) {
      var m = markOf(e);
      if (!m) return;
      clearTimeout(cardTimer);
      cardTimer = setTimeout(function () { showCard(m); }, 150);
    });
    document.addEventListener("mouseout", function (e) { if (markOf(e)) hideCardSoon(); });
    document.addEventListener("focusin", function (e) { var m = markOf(e); if (m) showCard(m); });
    document.addEventListener("focusout", function (e) {
      if (markOf(e) && e.relatedTarget !== ui.host) hideCardSoon();
    });
    window.addEventListener("scroll", hideCard, { passive: true });
  }

  function showCard(mark) {
    clearTimeout(cardTimer);
    var term = byId(mark.getAttribute("data-glossarian-term"));
    if (!term) return;
    cardTerm = term;
    var other = pageLang === "zh" ? "en" : "zh";
    ui.card.innerHTML = '<div class="names">' + esc(term.zh === term.en ? term.zh : term.zh + " · " + term.en) + "</div>" +
      "<p>" + esc(term.def[pageLang] || term.def[other] || "") + "</p>";
    var more = button("more", words.more + " \u2192", "", "ask-more");
    more.addEventListener("click", function () { hideCard(); ask(words.askAbout(cardTerm)); });
    ui.card.appendChild(more);
    ui.card.hidden = false;
    var r = mark.getBoundingClientRect(), w = ui.card.offsetWidth, h = ui.card.offsetHeight;
    var top = r.bottom + 6 + h > window.innerHeight ? Math.max(4, r.top - h - 6) : r.bottom + 6;
    ui.card.style.top = top + "px";
    ui.card.style.left = Math.max(4, Math.min(r.left, window.innerWidth - w - 8)) + "px";
  }
  function hideCardSoon() { clearTimeout(cardTimer); cardTimer = setTimeout(hideCard, 250); }
  function hideCard() { clearTimeout(cardTimer); ui.card.hidden = true; }

  var ICON = '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" ' +
    'stroke-linejoin="round" aria-hidden="true"><path d="M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z"/></svg>';
  var PAGE_CSS = "glossarian-term{text-decoration:underline dotted rgba(47,91,234,.75);text-decoration-thickness:1.5px;" +
    "text-underline-offset:3px;cursor:help}glossarian-term:focus-visible{outline:2px solid #2f5bea;outline-offset:1px}" +
    "@media print{glossarian-embed{display:none!important}glossarian-term{text-decoration:none!important}}";
  var CSS = [
    ":host{all:initial}",
    ".wrap{--bg:#fff;--fg:#1f2937;--muted:#6b7280;--soft:#f3f4f6;--line:#e5e7eb;--accent:#2f5bea;font:14px/1.5 system-ui,-apple-system,'Segoe UI','PingFang SC','Microsoft YaHei',sans-serif;color:var(--fg)}",
    ".wrap.dark{--bg:#1f2430;--fg:#e5e7eb;--muted:#9ca3af;--soft:#2b3140;--line:#394050}",
    ".launcher{position:fixed;right:20px;bottom:20px;z-index:2147483000;width:56px;height:56px;border:0;border-radius:50%;background:var(--accent);color:#fff;cursor:pointer;padding:0;box-shadow:0 4px 14px rgba(0,0,0,.25);display:flex;align-items:center;justify-content:center}",
    ".launcher:hover{background:#2449c4}.launcher svg{width:28px;height:28px}",
    "button:focus-visible{outline:3px solid #ffbf47;outline-offset:2px}textarea:focus{outline:none;border-color:var(--accent);box-shadow:0 0 0 2px rgba(47,91,234,.2)}",
    ".panel{position:fixed;right:20px;bottom:88px;z-index:2147483000;width:min(420px,calc(100vw - 40px));height:min(600px,calc(100vh - 120px));display:flex;flex-direction:column;background:var(--bg);border-radius:12px;overflow:hidden;box-shadow:0 8px 30px rgba(0,0,0,.3)}",
    ".left .launcher,.left .panel{left:20px;right:auto}.top .launcher{top:20px;bottom:auto}.top .panel{top:88px;bottom:auto}",
    ".panel[hidden],.card[hidden],.status[hidden]{display:none}",
    ".bar{display:flex;align-items:center;gap:2px;padding:6px 6px 6px 14px;background:var(--accent);color:#fff;font-weight:600}",
    ".title{flex:1}.icon{border:0;background:transparent;color:#fff;font-size:20px;line-height:1;cursor:pointer;padding:4px 8px;border-radius:6px}.icon:hover{background:rgba(255,255,255,.2)}",
    ".status{padding:10px 14px;background:#fff7e6;color:#7a4b00;border-bottom:1px solid #f3d19c}.status.refused,.status.csp{background:#fdecec;color:#8a1c1c;border-color:#f5b5b5}",
    ".log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:10px;position:relative}",
    ".msg{max-width:100%;overflow-wrap:anywhere}.msg p{margin:0 0 6px}.msg h4{margin:6px 0 4px;font-size:15px}.msg ul,.msg ol{margin:0 0 6px;padding-left:20px}",
    ".user{align-self:flex-end;background:var(--accent);color:#fff;padding:7px 11px;border-radius:14px 14px 4px 14px;max-width:85%}",
    ".bot{align-self:stretch}.pending{color:var(--muted)}.error{color:#b42318}",
    "code{font:12.5px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--soft);padding:1px 4px;border-radius:4px}",
    "pre{background:var(--soft);padding:8px 10px;border-radius:8px;overflow-x:auto;margin:0 0 6px}pre code{padding:0;background:none;white-space:pre}",
    "a{color:var(--accent)}a.cite{text-decoration:none;font-weight:600;font-size:12px;vertical-align:1px}a.cite:hover{text-decoration:underline}",
    "details{border:1px solid var(--line);border-radius:8px;padding:4px 8px;margin:4px 0}summary{cursor:pointer;color:var(--muted);font-size:13px}",
    ".src{padding:6px 2px;border-top:1px solid var(--line);font-size:13px}.src span{display:block;color:var(--fg)}.src.flash{animation:flash 1.2s}",
    "@keyframes flash{from{background:#fff3bf}to{background:transparent}}",
    ".note{font-size:12px;color:var(--muted)}",
    ".empty p{color:var(--muted);margin:4px 0 10px}.chip{display:block;width:100%;text-align:left;border:1px solid var(--line);background:var(--bg);color:var(--fg);border-radius:10px;padding:8px 10px;margin:0 0 6px;cursor:pointer;font:inherit}.chip:hover{border-color:var(--accent)}",
    ".ask{display:flex;gap:6px;padding:8px;border-top:1px solid var(--line)}",
    "textarea{flex:1;resize:none;font:inherit;color:var(--fg);background:var(--bg);border:1px solid var(--line);border-radius:10px;padding:8px 10px;min-height:20px;max-height:120px}",
    ".send{border:0;border-radius:10px;background:var(--accent);color:#fff;width:42px;cursor:pointer;font-size:16px}.send:disabled,textarea:disabled{opacity:.55;cursor:not-allowed}",
    ".card{position:fixed;z-index:2147483001;max-width:340px;background:var(--bg);color:var(--fg);border:1px solid var(--line);border-radius:10px;box-shadow:0 6px 24px rgba(0,0,0,.18);padding:10px 12px}",
    ".card .names{font-weight:600;margin-bottom:4px}.card p{margin:0 0 8px}.more{border:0;background:none;color:var(--accent);cursor:pointer;padding:0;font:inherit;font-weight:600}",
    "@media (max-width:600px){.panel{left:0;right:0;top:0;bottom:0;width:100%;height:100%;border-radius:0}.open .launcher{display:none}.launcher{width:48px;height:48px;right:14px;bottom:14px}.ask textarea{font-size:16px}}",
    "@media print{.launcher,.panel,.card{display:none!important}}"
  ].join("\n");

  if ((script && script.src) || (window.GlossarianConfig && window.GlossarianConfig.server)) init();
  else console.info("Glossarian: waiting for Glossarian.init({server: …}) (embed.js was not loaded from a <script src>).");
})();
