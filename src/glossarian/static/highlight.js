/* Glossarian term highlighter: marks glossary terms in a page's text (loaded by embed.js; no dependencies).
 *
 *   var m = GlossarianTerms.compile(terms)       // terms as sent by GET /api/terms
 *   GlossarianTerms.find("什么是 GAP？", m)      // -> [{start, end, id}]  (pure text matching)
 *   GlossarianTerms.highlight(rootElement, m)     // wraps matches in <glossarian-term data-glossarian-term="id">
 *
 * Matching rules: longest match wins; Chinese is matched without word boundaries; Latin names need a
 * non-letter/digit on both sides (a plural "s" is allowed); acronyms (GAP, BN, R-CNN) and short names with
 * inner capitals (mAP, ReLU) match only in that exact case, so "the gap" and "a map" stay plain; names
 * shared by two entries are left out. Code, pre, links, headings, buttons and form fields are skipped.
 * By default only the first occurrence of a term in each section (text between headings) is marked.
 * Only text nodes change: the page's elements, classes and styles are left as they are.
 */
(function () {
  "use strict";
  if (window.GlossarianTerms) return;

  var MARK = "glossarian-term";
  var SKIP = /^(SCRIPT|STYLE|NOSCRIPT|TEMPLATE|CODE|PRE|KBD|SAMP|TT|VAR|A|BUTTON|INPUT|TEXTAREA|SELECT|OPTION|LABEL|SVG|MATH|IFRAME|CANVAS|VIDEO|AUDIO|GLOSSARIAN-TERM|GLOSSARIAN-EMBED)$/;
  var HEADING = /^H[1-6]$/;
  // Wiki chrome inside the content area: edit links, tables of contents, navigation boxes, references.
  var SKIP_CLASSES = /(^|\s)(mw-editsection|toc|toctitle|navbox|reference|mw-references-wrap|glossarian-skip|catlinks|noprint)(\s|$)/;

  function isWordChar(code) { // ASCII letters, digits, underscore
    return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95;
  }
  function isSpace(code) { return code === 32 || code === 9 || code === 10 || code === 13 || code === 160 || code === 12288; }
  function lower(ch) {
    var c = ch.charCodeAt(0);
    if (c < 128) return (c >= 65 && c <= 90) ? String.fromCharCode(c + 32) : ch;
    return ch.toLowerCase();
  }
  function normalise(name) { return name.replace(/\s+/g, " ").trim(); }

  // Exact-case names: acronyms (two or more capitals, no lower case) and short names with an inner capital.
  function caseSensitive(name) {
    var upper = (name.match(/[A-Z]/g) || []).length;
    if (upper >= 2 && !/[a-z]/.test(name)) return true;
    return name.length <= 6 && /^.+[A-Z]/.test(name) && /[a-z]/.test(name);
  }

  function compile(terms) {
    var owners = Object.create(null); // lower-cased name -> {id: original name}
    var byId = Object.create(null);
    (terms || []).forEach(function (t) {
      byId[t.id] = t;
      [t.en, t.zh].concat(t.aliases || []).forEach(function (raw) {
        var name = normalise(String(raw || ""));
        if (name.length < 2 || /^[\d\s.,-]+$/.test(name)) return;
        var key = name.toLowerCase();
        (owners[key] = owners[key] || Object.create(null))[t.id] = owners[key][t.id] || name;
      });
    });
    var root = Object.create(null);
    Object.keys(owners).forEach(function (key) {
      var ids = Object.keys(owners[key]);
      if (ids.length !== 1) return; // ambiguous: a mark must name one entry
      var name = owners[key][ids[0]];
      var node = root;
      for (var i = 0; i < key.length; i++) {
        var ch = key[i];
        node = node[ch] || (node[ch] = Object.create(null));
      }
      node.$ = { id: ids[0], exact: caseSensitive(name) ? name : null,
                 startsWord: isWordChar(key.charCodeAt(0)), endsWord: isWordChar(key.charCodeAt(key.length - 1)) };
    });
    return { trie: root, byId: byId };
  }

  function endOk(text, end, term) {
    return !term.endsWord || end >= text.length || !isWordChar(text.charCodeAt(end));
  }

  function sameCase(text, start, end, exact) {
    return normalise(text.slice(start, end)) === exact;
  }

  // The longest term starting at `start`, or null.
  function matchAt(text, start, trie) {
    var node = trie, j = start, best = null;
    while (j < text.length) {
      var code = text.charCodeAt(j);
      var ch;
      if (isSpace(code)) {
        ch = " ";
        while (j < text.length && isSpace(text.charCodeAt(j))) j++;
      } else {
        ch = lower(text[j]);
        j++;
      }
      node = node[ch];
      if (!node) break;
      var t = node.$;
      if (!t || ch === " ") continue;
      var end = j;
      if (!endOk(text, end, t) && t.endsWord && text[end] === "s" && endOk(text, end + 1, t)) end += 1; // plural
      if (!endOk(text, end, t)) continue;
      if (t.exact && !sameCase(text, start, j, t.exact)) continue;
      best = { start: start, end: end, id: t.id };
    }
    return best;
  }

  function find(text, matcher) {
    var out = [];
    for (var i = 0; i < text.length; i++) {
      var code = text.charCodeAt(i);
      if (isSpace(code)) continue;
      if (i > 0 && isWordChar(code) && isWordChar(text.charCodeAt(i - 1))) continue; // mid-word
      var m = matchAt(text, i, matcher.trie);
      if (m) { out.push(m); i = m.end - 1; }
    }
    return out;
  }

  function skipped(el) {
    if (SKIP.test(el.tagName.toUpperCase())) return true;
    if (el.isContentEditable || el.getAttribute("data-glossarian-skip") !== null) return true;
    if (el.id === "toc") return true;
    var cls = typeof el.className === "string" ? el.className : "";
    return cls !== "" && SKIP_CLASSES.test(cls);
  }

  /* Mark terms under `root`. options.every: mark every occurrence, not the first per section.
   * Returns {marks, ms, textNodes}. Calling it again on the same root marks nothing twice. */
  function highlight(root, matcher, options) {
    var t0 = performance.now();
    var every = !!(options && options.every);
    var section = 0, jobs = [];
    var walker = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT, {
      acceptNode: function (node) {
        if (node.nodeType === 3) return node.nodeValue.length > 1 ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_SKIP;
        if (HEADING.test(node.tagName.toUpperCase())) { section++; return NodeFilter.FILTER_REJECT; }
        return skipped(node) ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_SKIP;
      }
    });
    while (walker.nextNode()) jobs.push([walker.currentNode, section]);

    var seen = Object.create(null), marks = 0;
    for (var k = 0; k < jobs.length; k++) {
      var node = jobs[k][0], sec = jobs[k][1];
      var text = node.nodeValue;
      var found = find(text, matcher);
      if (!found.length) continue;
      var frag = null, last = 0;
      for (var f = 0; f < found.length; f++) {
        var m = found[f], key = sec + "\u0000" + m.id;
        if (!every && seen[key]) continue;
        seen[key] = true;
        frag = frag || document.createDocumentFragment();
        if (m.start > last) frag.appendChild(document.createTextNode(text.slice(last, m.start)));
        var mark = document.createElement(MARK);
        mark.setAttribute("data-glossarian-term", m.id);
        mark.setAttribute("tabindex", "0");
        mark.setAttribute("role", "term");
        mark.textContent = text.slice(m.start, m.end);
        frag.appendChild(mark);
        last = m.end;
        marks++;
      }
      if (!frag) continue;
      if (last < text.length) frag.appendChild(document.createTextNode(text.slice(last)));
      node.parentNode.replaceChild(frag, node);
    }
    return { marks: marks, ms: performance.now() - t0, textNodes: jobs.length };
  }

  // Undo highlight(): each mark becomes plain text again.
  function clear(root) {
    var marks = (root || document).querySelectorAll(MARK);
    for (var i = 0; i < marks.length; i++) {
      var parent = marks[i].parentNode;
      parent.replaceChild(document.createTextNode(marks[i].textContent), marks[i]);
      parent.normalize();
    }
  }

  window.GlossarianTerms = Object.freeze({ compile: compile, find: find, highlight: highlight, clear: clear, MARK: MARK });
})();
