/* Glossarian embed: <script src="http://HOST:PORT/embed.js" async></script> on any page adds a floating
 * button that opens the glossary widget (HOST:PORT/widget) in a panel.
 * Everything lives in one shadow root, so the page's CSS and ours never meet; the only global is
 * window.Glossarian ({open, close, toggle}). The widget loads on first open, not with the page.
 * The server must list this page's origin in GLOSSARIAN_ALLOWED_ORIGINS, or the browser refuses the frame.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.Glossarian) return; // included twice: the first copy wins

  var base = new URL(".", script.src).href; // keeps a reverse-proxy prefix: https://wiki/glossary/
  var widgetUrl = base + "widget/";
  var label = "术语助手 · Glossary";

  var css = [
    ":host { all: initial; }",
    ".launcher { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000; width: 56px; height: 56px;",
    "  border: 0; border-radius: 50%; background: #2f5bea; color: #fff; cursor: pointer; padding: 0;",
    "  box-shadow: 0 4px 14px rgba(0,0,0,.25); display: flex; align-items: center; justify-content: center; }",
    ".launcher:hover { background: #2449c4; }",
    ".launcher:focus-visible, .close:focus-visible { outline: 3px solid #ffbf47; outline-offset: 2px; }",
    ".launcher svg { width: 28px; height: 28px; }",
    ".panel { position: fixed; right: 20px; bottom: 88px; z-index: 2147483000;",
    "  width: min(420px, calc(100vw - 40px)); height: min(640px, calc(100vh - 110px));",
    "  display: flex; flex-direction: column; background: #fff; border-radius: 12px; overflow: hidden;",
    "  box-shadow: 0 8px 30px rgba(0,0,0,.3); font: 14px/1.4 system-ui, sans-serif; color: #1f2937; }",
    ".panel[hidden] { display: none; }",
    ".bar { display: flex; align-items: center; justify-content: space-between; padding: 6px 8px 6px 14px;",
    "  background: #2f5bea; color: #fff; font-weight: 600; }",
    ".close { border: 0; background: transparent; color: #fff; font-size: 22px; line-height: 1;",
    "  cursor: pointer; padding: 2px 8px; border-radius: 6px; }",
    ".close:hover { background: rgba(255,255,255,.2); }",
    "iframe { flex: 1; width: 100%; border: 0; background: #fff; }"
  ].join("\n");

  var icon = '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" ' +
    'stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">' +
    '<path d="M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z"/></svg>';

  var host = document.createElement("glossarian-embed");
  host.setAttribute("style", "all: initial;");
  var root = host.attachShadow({ mode: "open" });
  var style = document.createElement("style");
  style.textContent = css;

  var panel = document.createElement("div");
  panel.className = "panel";
  panel.hidden = true;
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", label);
  panel.setAttribute("data-glossarian", "panel");
  var bar = document.createElement("div");
  bar.className = "bar";
  var title = document.createElement("span");
  title.textContent = label;
  var close = document.createElement("button");
  close.className = "close";
  close.type = "button";
  close.textContent = "\u00d7";
  close.setAttribute("aria-label", "关闭 · Close");
  close.setAttribute("data-glossarian", "close");
  bar.appendChild(title);
  bar.appendChild(close);
  panel.appendChild(bar);

  var launcher = document.createElement("button");
  launcher.className = "launcher";
  launcher.type = "button";
  launcher.title = label;
  launcher.setAttribute("aria-label", label);
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("data-glossarian", "launcher");
  launcher.innerHTML = icon; // a constant, never page or user data

  var frame = null;

  function open() {
    if (!frame) {
      frame = document.createElement("iframe");
      frame.setAttribute("data-glossarian", "frame");
      frame.title = label;
      frame.src = widgetUrl;
      panel.appendChild(frame);
    }
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    frame.focus();
  }

  function closePanel() {
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
  }

  function toggle() {
    if (panel.hidden) open(); else closePanel();
  }

  launcher.addEventListener("click", toggle);
  close.addEventListener("click", closePanel);
  // Keys typed inside the widget stay in its frame; Escape works while focus is on the panel's own bar.
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") closePanel();
  });

  root.appendChild(style);
  root.appendChild(panel);
  root.appendChild(launcher);

  function mount() { document.body.appendChild(host); }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);

  window.Glossarian = Object.freeze({ open: open, close: closePanel, toggle: toggle });
})();
