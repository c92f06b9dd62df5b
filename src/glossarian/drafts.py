"""Draft glossary entries for the most-asked missing terms (`glossarian gaps --draft N`).

Each draft is a corpus v2 file with `status: draft`: both language sections, the why/how/example facets
marked as drafts, and the readers' own questions in a comment for the reviewer. With an LLM endpoint
configured the definitions and facets are drafted by it in both languages; offline they are placeholders.
An existing file or an id the corpus already has is never overwritten.
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from glossarian.lang import detect_language

log = logging.getLogger("glossarian")

FACET_KEYS = ("why", "how", "example")  # the facets a reviewed entry must have (corpus.REQUIRED_FACETS)
PLACEHOLDER = {
    "zh": {"definition": "（草稿）{term} 的定义待补充。", "why": "（草稿）待补充。", "how": "（草稿）待补充。",
           "example": "（草稿）待补充。"},
    "en": {"definition": "(Draft) The definition of {term} is still to be written.", "why": "(Draft) To be written.",
           "how": "(Draft) To be written.", "example": "(Draft) To be written."},
}
LLM_PROMPT = """You draft entries for a bilingual (Chinese/English) deep-learning glossary. Readers asked about
the term "{term}", e.g.: {examples}
Reply with one JSON object only: {{"term_en": "...", "term_zh": "...", "zh": {{"definition": "...", "why": "...",
"how": "...", "example": "..."}}, "en": {{"definition": "...", "why": "...", "how": "...", "example": "..."}}}}.
Each value is 1-3 plain sentences; Chinese in "zh", English in "en". If you do not know the term, say so in
the definitions instead of inventing one."""


@dataclass
class DraftResult:
    written: list[Path]
    skipped: list[tuple[str, str]]  # (term, why)


def slug(term: str) -> str:
    """'FlashAttention' -> 'flashattention', 'KV cache' -> 'kv-cache', '推测解码' -> 'tui-ce-jie-ma'."""
    if re.search(r"[\u4e00-\u9fff]", term):
        from pypinyin import lazy_pinyin

        term = " ".join(lazy_pinyin(term))
    return re.sub(r"[^a-z0-9]+", "-", term.casefold()).strip("-")


def _llm_text(settings, term: str, examples: list[str]) -> dict | None:
    """Definitions and facets drafted by the configured endpoint, or None (offline, or it failed)."""
    if not (settings.llm_base_url and settings.llm_model):
        return None
    try:
        from openai import OpenAI

        client = OpenAI(base_url=settings.llm_base_url, api_key=settings.llm_api_key or "none",
                        timeout=settings.llm_timeout, max_retries=1)
        reply = client.chat.completions.create(model=settings.llm_model, temperature=0.2, messages=[
            {"role": "user", "content": LLM_PROMPT.format(term=term, examples=json.dumps(examples, ensure_ascii=False))}])
        text = reply.choices[0].message.content or ""
        data = json.loads(text[text.index("{"):text.rindex("}") + 1])
        ok = all(isinstance(data.get(lang), dict) and all(isinstance(data[lang].get(k), str) and data[lang][k].strip()
                                                          for k in ("definition", *FACET_KEYS)) for lang in ("zh", "en"))
        return data if ok else None
    except Exception as exc:  # a draft is still useful without the LLM's text
        log.warning("LLM draft for %r failed, writing placeholders: %s", term, str(exc).splitlines()[0][:200])
        return None


def render_draft(term: str, examples: list[str], count: int, drafted: dict | None = None) -> tuple[str, str]:
    """(entry id, file text) of one draft entry."""
    drafted = drafted or {}
    term_en = str(drafted.get("term_en") or term).strip()
    term_zh = str(drafted.get("term_zh") or term).strip()
    # A Chinese term gets its file name from the English name the LLM gave, else from its pinyin.
    entry_id = slug(term_en if detect_language(term) == "zh" and drafted.get("term_en") else term)
    meta = {"id": entry_id, "term_en": term_en,
            "term_zh": term_zh, "aliases": [], "related": [], "tags": [], "status": "draft"}
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, default_flow_style=None).strip()
    asked = "\n".join(f"#   {json.dumps(q, ensure_ascii=False)}" for q in examples)
    who = "an LLM" if drafted else "glossarian gaps --draft"
    lines = ["---", front,
             f"# Drafted by {who}: readers asked for this term {count} times, e.g.:", asked,
             "# Review every section, then remove 'status: draft' (corpus check will ask for asks: and facets).",
             "---", ""]
    headings = {"zh": ("## 中文", {"why": "为什么", "how": "原理", "example": "例子"}),
                "en": ("## English", {"why": "Why", "how": "How it works", "example": "Example"})}
    for lang in ("zh", "en"):
        section, facet_names = headings[lang]
        texts = drafted.get(lang) or {k: v.format(term=term) for k, v in PLACEHOLDER[lang].items()}
        lines += [section, texts["definition"].strip(), ""]
        for key in FACET_KEYS:
            lines += [f"### {facet_names[key]}", texts[key].strip(), ""]
    return entry_id, "\n".join(lines).rstrip() + "\n"


def write_drafts(missing_terms, corpus_dir: Path, n: int, settings=None) -> DraftResult:
    """Write drafts for the first `n` missing terms (already ranked) into `corpus_dir`; never overwrite."""
    from glossarian.corpus import load_corpus

    corpus_dir = Path(corpus_dir)
    corpus_dir.mkdir(parents=True, exist_ok=True)
    known = {e.id for e in load_corpus(corpus_dir).entries}
    result = DraftResult([], [])
    for m in missing_terms[:n]:
        drafted = _llm_text(settings, m.term, m.examples) if settings is not None else None
        entry_id, text = render_draft(m.term, m.examples, m.count, drafted)
        path = corpus_dir / f"{entry_id}.md"
        if not entry_id:
            result.skipped.append((m.term, "no usable file name"))
        elif entry_id in known or path.exists():
            result.skipped.append((m.term, f"{path.name} already exists"))
        else:
            with open(path, "x", encoding="utf-8") as f:  # "x": fails rather than overwrite a file made meanwhile
                f.write(text)
            result.written.append(path)
    return result
