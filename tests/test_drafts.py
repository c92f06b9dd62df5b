"""Draft entries for missing terms: drafted by an OpenAI-compatible endpoint (a real local HTTP server speaking
its protocol) or offline placeholders; either way a valid `status: draft` entry that is never overwritten."""
from __future__ import annotations

import json
from pathlib import Path

from fake_openai_server import FakeOpenAI, text
from glossarian.config import Settings
from glossarian.corpus import check_corpus, load_corpus
from glossarian.drafts import write_drafts
from glossarian.gaps import MissingTerm

DRAFTED = {"term_en": "FlashAttention", "term_zh": "闪电注意力",
           "zh": {"definition": "FlashAttention 是一种按块计算、减少显存读写的精确注意力算法。", "why": "标准注意力的显存读写是瓶颈。",
                  "how": "把 Q、K、V 分块载入片上内存，在线计算 softmax。", "example": "训练长上下文的 GPT 模型时常用它。"},
           "en": {"definition": "FlashAttention is an exact attention algorithm that computes in tiles to cut memory traffic.",
                  "why": "Memory reads and writes dominate the cost of standard attention.",
                  "how": "It loads blocks of Q, K and V into on-chip memory and computes softmax online.",
                  "example": "Long-context GPT training commonly uses it."}}


def check(folder: Path) -> list[str]:
    return [f"{p.path}:{p.line}: {p.message}" for p in check_corpus(load_corpus(folder))]


def test_llm_drafts_both_languages_and_the_entry_is_a_valid_draft(tmp_path):
    fake = FakeOpenAI().start()
    try:
        fake.script(text("Here it is:\n```json\n" + json.dumps(DRAFTED, ensure_ascii=False) + "\n```"))
        settings = Settings(home=tmp_path, llm_base_url=fake.url, llm_model=fake.model)
        result = write_drafts([MissingTerm("FlashAttention", 4, ["What is FlashAttention?"], "")], tmp_path / "c", 1,
                              settings)
        assert "FlashAttention" in json.dumps(fake.requests[0], ensure_ascii=False)
    finally:
        fake.stop()
    [path] = result.written
    entry = load_corpus(tmp_path / "c").entries[0]
    assert (path.name, entry.status, entry.term_zh) == ("flashattention.md", "draft", "闪电注意力")
    assert entry.facet("zh", "how").startswith("把 Q、K、V 分块") and "tiles" in entry.definition("en")
    assert check(tmp_path / "c") == []


def test_offline_drafts_are_placeholders_and_never_overwrite(tmp_path):
    terms = [MissingTerm("推测解码", 3, ["推测解码是什么意思"], ""), MissingTerm("SwiGLU", 2, ["What is SwiGLU?"], "")]
    corpus = tmp_path / "c"
    first = write_drafts(terms, corpus, 2, Settings(home=tmp_path))  # no LLM configured
    assert sorted(p.name for p in first.written) == ["swiglu.md", "tui-ce-jie-ma.md"]
    assert "（草稿）" in (corpus / "tui-ce-jie-ma.md").read_text("utf-8")
    assert check(corpus) == []
    (corpus / "swiglu.md").write_text((corpus / "swiglu.md").read_text("utf-8") + "\nreviewed\n", "utf-8")
    again = write_drafts(terms, corpus, 2, Settings(home=tmp_path))
    assert again.written == [] and len(again.skipped) == 2
    assert (corpus / "swiglu.md").read_text("utf-8").endswith("reviewed\n")
