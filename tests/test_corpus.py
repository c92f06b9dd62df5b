"""Corpus files: what a valid entry becomes, and how every kind of broken file is reported (file:line: message)."""
from __future__ import annotations

import shutil

import pytest
from helpers import CORPUS, copy_entries, write_entry

from glossarian.corpus import Corpus, check_corpus, load_corpus, parse_entry
from glossarian.errors import CorpusError
from glossarian.tools import tool_names

GOOD_BODY = "\n## 中文\n一段中文定义。\n\n## English\nAn English definition.\n"


VALID = """---
id: global-average-pooling
term_en: Global Average Pooling
term_zh: 全局平均池化
aliases: [GAP, global avg pool]
related: [pooling, head]
tags: [architecture, vision]
demo: global_average_pooling
asks:
  zh: [把每个通道的特征图压成一个数的操作, 分类头前面替代全连接层的那一步, 特征图求平均变成向量, 输出和输入高宽无关的池化]
  en: [averaging each channel down to one number, the step that replaced big fully connected layers, turn a feature map into a vector by averaging, pooling whose output ignores height and width]
---

## 中文
全局平均池化（GAP）把每个通道的整张特征图取平均。

### 为什么
参数为零，替代全连接层能减少过拟合。

### 原理
对 H×W 求平均。

### 例子
```python
self.gap = nn.AdaptiveAvgPool2d(1)   # (N, C, H, W) -> (N, C, 1, 1)
```

## English
Global average pooling (GAP) averages each channel's whole feature map down to a single number.

### Why
It has no parameters, so replacing fully connected layers with it reduces overfitting.

### How it works
It averages over H×W.

### Example
```python
self.gap = nn.AdaptiveAvgPool2d(1)   # (N, C, H, W) -> (N, C, 1, 1)
```
"""


def test_valid_entry_is_parsed_with_every_field_and_both_sections(tmp_path):
    (tmp_path / "global-average-pooling.md").write_text(VALID, "utf-8")

    entry, problems = parse_entry(tmp_path / "global-average-pooling.md", tmp_path)

    assert problems == []
    assert (entry.id, entry.term_en, entry.term_zh) == ("global-average-pooling", "Global Average Pooling", "全局平均池化")
    assert entry.aliases == ("GAP", "global avg pool")
    assert entry.related == ("pooling", "head")
    assert entry.tags == ("architecture", "vision")
    assert entry.demo == "global_average_pooling"
    assert entry.path == "global-average-pooling.md"
    # The definition is the text before the first facet heading; each facet keeps its text, code fences included.
    assert entry.zh == "全局平均池化（GAP）把每个通道的整张特征图取平均。"
    assert entry.en == "Global average pooling (GAP) averages each channel's whole feature map down to a single number."
    assert entry.facet_keys("zh") == entry.facet_keys("en") == ("why", "how", "example")
    assert entry.facet("zh", "example") == ("```python\nself.gap = nn.AdaptiveAvgPool2d(1)   "
                                            "# (N, C, H, W) -> (N, C, 1, 1)\n```")
    assert entry.facet("en", "why").startswith("It has no parameters")
    assert entry.facet("en", "values") == ""
    assert len(entry.asks["zh"]) == len(entry.asks["en"]) == 4
    assert entry.status == "reviewed" and not entry.is_draft
    assert entry.names == ("Global Average Pooling", "全局平均池化", "GAP", "global avg pool")


def test_shipped_entry_keeps_its_code_block():
    entry, problems = parse_entry(CORPUS / "global-average-pooling.md", CORPUS)
    assert problems == []
    assert "GAP" in entry.aliases and entry.demo == "global_average_pooling"
    example = entry.facet("zh", "example")
    assert "```python" in example and "nn.AdaptiveAvgPool2d(1)" in example
    assert entry.en.startswith("Global average pooling")


def test_content_hash_follows_the_text(tmp_path):
    path = write_entry(tmp_path, "sample-term")
    before = parse_entry(path, tmp_path)[0].content_hash
    assert parse_entry(path, tmp_path)[0].content_hash == before
    path.write_text(path.read_text("utf-8").replace("An entry", "A changed entry"), "utf-8")
    assert parse_entry(path, tmp_path)[0].content_hash != before


# (file name, file bytes, line the problem must point at, words the message must contain)
BROKEN = {
    "missing front matter": (
        "no-front-matter.md", "# Title\n" + GOOD_BODY, 1, "must start with a '---'"),
    "unclosed front matter": (
        "unclosed.md", "---\nid: unclosed\nterm_en: Unclosed\nterm_zh: 未闭合\n" + GOOD_BODY, 1, "never closed"),
    "invalid yaml": (
        "bad-yaml.md", "---\nid: bad-yaml\nterm_en: Broken: yaml: here\nterm_zh: 坏\n---\n" + GOOD_BODY, 3,
        "invalid YAML"),
    "unclosed yaml list": (
        "bad-list.md", "---\nid: bad-list\nterm_en: X\nterm_zh: 坏\naliases: [a, b\n---\n" + GOOD_BODY, 5,
        "invalid YAML"),
    "missing required field": (
        "no-zh-term.md", "---\nid: no-zh-term\nterm_en: No Chinese Term\n---\n" + GOOD_BODY, 1,
        "required field 'term_zh'"),
    "empty required field": (
        "empty-term.md", "---\nid: empty-term\nterm_en: ''\nterm_zh: 空\n---\n" + GOOD_BODY, 3,
        "required field 'term_en'"),
    "aliases not a list": (
        "alias-string.md", "---\nid: alias-string\nterm_en: A\nterm_zh: 甲\naliases: GAP\n---\n" + GOOD_BODY, 5,
        "'aliases' must be a list"),
    "unknown field": (
        "unknown-field.md", "---\nid: unknown-field\nterm_en: A\nterm_zh: 甲\ncolour: red\n---\n" + GOOD_BODY, 5,
        "unknown field 'colour'"),
    "id not a slug": (
        "Bad_Id.md", "---\nid: Bad_Id\nterm_en: A\nterm_zh: 甲\n---\n" + GOOD_BODY, 2, "lowercase slug"),
    "id differs from file name": (
        "file-name.md", "---\nid: other-name\nterm_en: A\nterm_zh: 甲\n---\n" + GOOD_BODY, 2,
        "does not match the file name 'file-name.md'"),
    "missing chinese section": (
        "no-zh.md", "---\nid: no-zh\nterm_en: A\nterm_zh: 甲\n---\n\n## English\nText.\n", 6,
        "missing section '## 中文'"),
    "missing english section": (
        "no-en.md", "---\nid: no-en\nterm_en: A\nterm_zh: 甲\n---\n\n## 中文\n内容。\n", 6,
        "missing section '## English'"),
    "empty section": (
        "empty-en.md", "---\nid: empty-en\nterm_en: A\nterm_zh: 甲\n---\n\n## 中文\n内容。\n\n## English\n\n", 10,
        "section '## English' is empty"),
    "not utf-8": (
        "gbk.md", "---\nid: gbk\nterm_en: A\nterm_zh: 甲\n---\n\n## 中文\n".encode() + "中文内容".encode("gbk")
        + b"\n\n## English\nText.\n", 8, "not valid UTF-8"),
    "nul bytes": (
        "nul.md", "---\nid: nul\nterm_en: A\nterm_zh: 甲\n---\n\n## 中文\n内容\x00。\n\n## English\nText.\n", 8,
        "NUL bytes"),
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_broken_file_is_reported_with_file_and_line(tmp_path, name):
    file_name, content, line, words = BROKEN[name]
    path = tmp_path / file_name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))

    problems = [str(p) for p in load_corpus(tmp_path).problems]

    assert any(p.startswith(f"{file_name}:{line}: ") and words in p for p in problems), problems


@pytest.mark.parametrize("name", ["missing front matter", "invalid yaml", "id differs from file name",
                                  "missing english section", "not utf-8", "nul bytes"])
def test_one_bad_file_does_not_drop_the_good_entries(tmp_path, name):
    folder = copy_entries(tmp_path / "corpus")
    file_name, content, _, _ = BROKEN[name]
    (folder / file_name).write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))

    corpus = load_corpus(folder)

    assert sorted(e.id for e in corpus.entries) == ["backbone", "global-average-pooling", "head", "neck"]
    assert {p.path for p in corpus.problems} == {file_name}


def test_missing_corpus_folder_says_how_to_point_at_one(tmp_path):
    with pytest.raises(CorpusError) as exc:
        load_corpus(tmp_path / "nowhere")
    assert "nowhere" in exc.value.message
    assert "GLOSSARIAN_CORPUS" in exc.value.hint


# -- cross-entry checks ------------------------------------------------------------------------------

def _messages(corpus: Corpus, tools=None) -> list[str]:
    return [str(p) for p in check_corpus(corpus, tools)]


def _line(path, field: str) -> int:
    """Line number of a front-matter field in a file."""
    return next(n for n, line in enumerate(path.read_text("utf-8").splitlines(), 1) if line.startswith(field + ":"))


def test_duplicate_id_across_folders_is_reported(tmp_path):
    first = copy_entries(tmp_path / "a", ["neck"])
    second = copy_entries(tmp_path / "b", ["neck", "head"])
    merged = Corpus(load_corpus(first).entries + load_corpus(second).entries, [])

    problems = _messages(merged)

    assert any("duplicate id 'neck'" in p and p.startswith(f"neck.md:{_line(second / 'neck.md', 'id')}:")
               for p in problems), problems


def test_alias_claimed_by_two_entries_is_reported(tmp_path):
    folder = copy_entries(tmp_path / "corpus")
    write_entry(folder, "great-answer-prompt", term_en="Great Answer Prompt", aliases="GAP, answer prompt")

    problems = [p for p in _messages(load_corpus(folder)) if "claimed" in p]

    assert len(problems) == 1, problems
    assert problems[0].startswith("great-answer-prompt.md:5: ")
    assert "'gap'" in problems[0] and "global-average-pooling.md" in problems[0]


def test_alias_written_in_traditional_characters_names_the_entry_in_both_scripts(tmp_path):
    # Questions are matched in Simplified script; a Taiwan name written as Taiwan writes it must still match.
    from glossarian.lang import to_simplified
    from glossarian.names import NameMatcher

    folder = copy_entries(tmp_path / "corpus")
    write_entry(folder, "glorp-normalization", term_en="Glorp Normalization", term_zh="格洛普归一化",
                aliases="格洛普正規化, GlorpNorm")
    corpus = load_corpus(folder)
    entry = next(e for e in corpus.entries if e.id == "glorp-normalization")
    matcher = NameMatcher(corpus.entries)

    assert "格洛普正规化" in entry.aliases and "GlorpNorm" in entry.aliases
    for question in ("格洛普正規化是什麼", "格洛普正规化是什么"):
        assert [corpus.entries[i].id for i in matcher.find(to_simplified(question))] == ["glorp-normalization"]


def test_related_id_that_does_not_exist_is_reported(tmp_path):
    folder = copy_entries(tmp_path / "corpus", ["neck", "head"])
    text = (folder / "neck.md").read_text("utf-8").replace("related: [backbone, head,", "related: [head,")
    (folder / "neck.md").write_text(text, "utf-8")

    problems = _messages(load_corpus(folder))

    # neck still links to feature-pyramid-network, object-detection and feature-map; head to backbone etc.
    neck_line, head_line = _line(folder / "neck.md", "related"), _line(folder / "head.md", "related")
    assert f"neck.md:{neck_line}: related id 'feature-pyramid-network' does not exist in the corpus" in problems
    assert f"head.md:{head_line}: related id 'backbone' does not exist in the corpus" in problems
    assert not any("'head'" in p for p in problems)


def test_entry_related_to_itself_is_reported(tmp_path):
    folder = copy_entries(tmp_path / "corpus")
    path = folder / "neck.md"
    path.write_text(path.read_text("utf-8").replace("related: [backbone, head", "related: [neck, backbone, head"), "utf-8")

    problems = _messages(load_corpus(folder))

    assert f"neck.md:{_line(path, 'related')}: an entry cannot relate to itself" in problems


def test_unknown_demo_tool_is_reported_with_the_known_ones(tmp_path):
    folder = copy_entries(tmp_path / "corpus")
    path = folder / "neck.md"
    path.write_text(path.read_text("utf-8").replace("demo: backbone_neck_head", "demo: neck_visualiser"), "utf-8")

    problems = _messages(load_corpus(folder), set(tool_names()))

    matching = [p for p in problems if "unknown demo tool 'neck_visualiser'" in p]
    assert matching and matching[0].startswith(f"neck.md:{_line(path, 'demo')}: ")
    assert "global_average_pooling" in matching[0]  # lists what the author could have meant


def test_shipped_corpus_passes_every_check():
    corpus = load_corpus(CORPUS)

    assert check_corpus(corpus, set(tool_names())) == []
    assert len(corpus.entries) >= 150
    empty = [e.id for e in corpus.entries if not e.zh.strip() or not e.en.strip()]
    assert empty == []
    assert len({e.id for e in corpus.entries}) == len(corpus.entries)


def test_readme_in_corpus_folder_is_not_an_entry(tmp_path):
    folder = copy_entries(tmp_path / "corpus", ["neck"])
    (folder / "README.md").write_text("# How to write entries\n", "utf-8")

    corpus = load_corpus(folder)

    assert [e.id for e in corpus.entries] == ["neck"] and corpus.problems == []


def test_copied_entry_keeps_windows_line_endings_equivalent(tmp_path):
    """An entry saved with CRLF line endings (Windows editors) parses to the same definitions."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy(CORPUS / "neck.md", folder / "neck.md")
    lf = parse_entry(folder / "neck.md", folder)[0]
    (folder / "neck.md").write_bytes((CORPUS / "neck.md").read_bytes().replace(b"\n", b"\r\n"))

    crlf, problems = parse_entry(folder / "neck.md", folder)

    assert problems == []
    assert crlf is not None
    assert crlf.content_hash == lf.content_hash
    assert (crlf.term_en, crlf.aliases, crlf.zh.replace("\r", ""), crlf.en.replace("\r", "")) == \
        (lf.term_en, lf.aliases, lf.zh, lf.en)


# -- corpus v2: facets, asks, drafts -----------------------------------------------------------------


def _v2(tmp_path, text: str):
    path = tmp_path / "global-average-pooling.md"
    path.write_text(text, "utf-8")
    return parse_entry(path, tmp_path)


def test_unknown_facet_heading_is_rejected_naming_the_known_ones(tmp_path):
    entry, problems = _v2(tmp_path, VALID.replace("### 原理", "### 原理和公式"))
    bad = [p for p in problems if "unknown facet heading" in p.message]
    assert len(bad) == 1 and "### 原理和公式" in bad[0].message and "'### 原理'" in bad[0].message
    assert bad[0].line == VALID.split("\n").index("### 原理") + 1  # points at the heading itself


def test_facet_in_one_language_only_is_reported_with_the_heading_to_add(tmp_path):
    text = VALID.replace("### Why\nIt has no parameters, so replacing fully connected layers with it reduces "
                         "overfitting.\n\n", "")
    _, problems = _v2(tmp_path, text)
    messages = [p.message for p in problems]
    assert any("facet 'why' is in the 中文 section but not in the English section" in m and "### Why" in m
               for m in messages), messages


def test_required_facets_and_asks_count_are_content_problems_that_do_not_block_a_build(tmp_path):
    text = VALID.split("### 为什么")[0] + "## English\nGlobal average pooling averages each channel.\n"
    text = text.replace("  zh: [", "  zh: [只有一行]\n  x: [")
    entry, problems = _v2(tmp_path, text.replace("  x: [", "  en: ["))
    messages = [p.message for p in problems]
    assert any("facet 'why' is missing" in m for m in messages)
    assert any("asks.zh has 1 lines" in m for m in messages)
    assert entry is not None and not any(p.blocking for p in problems)


def test_a_draft_needs_no_facets_or_asks(tmp_path):
    text = VALID.split("### 为什么")[0].replace("demo: global_average_pooling", "status: draft")
    text += "## English\n(draft) Global average pooling averages each channel.\n"
    entry, problems = _v2(tmp_path, text)
    assert problems == [] and entry.is_draft


def test_english_ending_by_naming_the_chinese_term_is_reported(tmp_path):
    text = VALID.replace("down to a single number.", "down to a single number. The Chinese term is 全局平均池化.")
    _, problems = _v2(tmp_path, text)
    assert any("naming the Chinese term" in p.message for p in problems)


def test_every_shipped_entry_meets_the_v2_bar():
    corpus = load_corpus(CORPUS)
    reviewed = [e for e in corpus.entries if not e.is_draft]
    assert len(corpus.entries) >= 240 and corpus.problems == []
    for e in reviewed:
        assert {"why", "how", "example"} <= set(e.facet_keys("zh")) == set(e.facet_keys("en")), e.id
        assert 4 <= len(e.asks["zh"]) <= 8 and 4 <= len(e.asks["en"]) <= 8, e.id
