"""GET /api/terms (the glossary's names for the wiki widget's term highlighter) and the widget's static scripts.

The term list is one small JSON document: every entry's id, zh/en names, aliases and the first sentence of
its definition in each language. It is read from the corpus folder (not the index, so it works while the
index is still building), cached in memory until a corpus file changes, and sent with an ETag so a wiki
page costs one revalidation at most. Matching runs in the reader's browser (static/highlight.js).
"""
from __future__ import annotations

import gzip
import hashlib
import json
import re
import threading
from importlib import resources
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

STATIC = resources.files("glossarian") / "static"
JS = "text/javascript; charset=utf-8"
# Browsers reuse the list for 5 minutes without asking, then revalidate (304 when nothing changed); an
# editor's change reaches readers as fast as embed.js itself does (also max-age=300).
CACHE_CONTROL = "public, max-age=300"
# A sentence ends at 。！？ (Chinese), or at . ! ? followed by a space and a capital, a digit or Chinese text
# (English), but not after the abbreviations the corpus uses mid-sentence (e.g., i.e., vs., et al.).
SENTENCE_END = re.compile(r"(?<=[。！？])|(?<=[.!?])(?<!e\.g\.)(?<!i\.e\.)(?<!vs\.)(?<!al\.)(?=\s+[A-Z0-9\u4e00-\u9fff])")
CODE_SPAN = re.compile(r"`([^`\n]+)`")
MAX_SENTENCE = 220  # the hover card stays a card, not a page


def first_sentence(text: str) -> str:
    """The definition's first sentence, plain text, at most MAX_SENTENCE characters."""
    text = " ".join(CODE_SPAN.sub(r"\1", text or "").split())
    if not text:
        return ""
    sentence = SENTENCE_END.split(text, maxsplit=1)[0].strip()
    return sentence if len(sentence) <= MAX_SENTENCE else sentence[: MAX_SENTENCE - 1].rstrip() + "…"


def terms_document(entries) -> dict:
    """The JSON the highlighter loads: {"terms": [{id, zh, en, aliases, def: {zh, en}}]}; drafts left out.
    The aliases include every Chinese name in Traditional characters too (骨幹網絡, 批次正規化), so a wiki written in
    Traditional Chinese gets its terms marked like one written in Simplified."""
    from glossarian.lang import to_traditional

    terms = []
    for e in sorted(entries, key=lambda e: e.id):
        if e.is_draft:
            continue
        names = [e.term_zh, *e.aliases]
        aliases = dict.fromkeys([*e.aliases, *(to_traditional(n) for n in names)])
        terms.append({"id": e.id, "zh": e.term_zh, "en": e.term_en,
                      "aliases": [a for a in aliases if a not in (e.term_zh, e.term_en)],
                      "def": {"zh": first_sentence(e.definition("zh")), "en": first_sentence(e.definition("en"))}})
    return {"terms": terms}


class TermList:
    """The encoded term list and its ETag, rebuilt when a corpus file is added, removed or changed."""

    def __init__(self, corpus_dir: Path):
        self.corpus_dir = Path(corpus_dir)
        self._lock = threading.Lock()
        self._stamp = None
        self._body = b""
        self._gzipped = b""
        self._etag = ""

    def _current_stamp(self):
        files = sorted(self.corpus_dir.glob("*.md"))
        return tuple((f.name, f.stat().st_mtime_ns, f.stat().st_size) for f in files)

    def get(self) -> tuple[bytes, bytes, str]:
        """(JSON body, the same gzipped, ETag); ~120 KB of JSON is ~40 KB on the wire."""
        from glossarian.corpus import load_corpus

        with self._lock:
            stamp = self._current_stamp()
            if stamp != self._stamp:
                document = terms_document(load_corpus(self.corpus_dir).entries)
                self._body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
                self._gzipped = gzip.compress(self._body, mtime=0)
                self._etag = '"' + hashlib.sha256(self._body).hexdigest()[:20] + '"'
                self._stamp = stamp
            return self._body, self._gzipped, self._etag


def terms_router(settings) -> APIRouter:
    """/api/terms plus the scripts the widget loads (/embed.js lives in api.py; /highlight.js here)."""
    from starlette.concurrency import run_in_threadpool

    router = APIRouter()
    terms = TermList(settings.corpus)

    @router.get("/api/terms")
    async def api_terms(request: Request):
        body, gzipped, etag = await run_in_threadpool(terms.get)
        headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL, "Vary": "Accept-Encoding"}
        if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
            return Response(status_code=304, headers=headers)
        if "gzip" in request.headers.get("accept-encoding", ""):
            body, headers = gzipped, {**headers, "Content-Encoding": "gzip"}
        return Response(body, media_type="application/json; charset=utf-8", headers=headers)

    @router.get("/highlight.js", include_in_schema=False)
    async def highlight_js():
        return FileResponse(str(STATIC / "highlight.js"), media_type=JS, headers={"Cache-Control": CACHE_CONTROL})

    return router
