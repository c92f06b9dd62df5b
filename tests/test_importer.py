"""Tests for glossarian.importer: real sample glossaries imported into temporary corpus folders."""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glossarian.corpus import check_corpus, load_corpus, parse_entry
from glossarian.errors import CorpusError
from glossarian.importer import import_file, parse_term, term_line

SAMPLES = Path(__file__).parent / "data" / "import_samples"
NOTES = SAMPLES / "glossary_notes.txt"  # every term shape, code in definitions, a "相关文章" tail
NOISY = SAMPLES / "noisy_no_heading.txt"  # CRLF; article blurbs and links mixed in without a heading; duplicates
GBK = SAMPLES / "gbk_encoded.txt"


def entries(corpus: Path) -> dict:
    """id -> Entry for every file in `corpus`, asserting each parses without problems."""
    out = {}
    for path in sorted(corpus.glob("*.md")):
        entry, problems = parse_entry(path, corpus)
        assert not problems, problems
        out[entry.id] = entry
    return out


@pytest.fixture
def notes(tmp_path):
    corpus = tmp_path / "corpus"
    return import_file(NOTES, corpus, force=False), corpus


@pytest.fixture
def noisy(tmp_path):
    corpus = tmp_path / "corpus"
    return import_file(NOISY, corpus, force=False), corpus


def skipped_reason(report, excerpt_start: str) -> str:
    reasons = [s.reason for s in report.skipped if s.excerpt.startswith(excerpt_start)]
    assert len(reasons) == 1, (excerpt_start, report.lines())
    return reasons[0]


def test_each_term_becomes_a_draft_with_english_and_chinese_names(notes):
    report, corpus = notes
    got = entries(corpus)
    placeholder = next(i for i in got if i.startswith("term-"))
    assert set(got) == {"backbone", "gap", "warm-up", "pretext-task", "downstream-task", "domain-adaptation",
                        "domain-generalization", placeholder}
    assert {w.id for w in report.created} == set(got) and not report.overwritten
    assert (got["warm-up"].term_en, got["warm-up"].term_zh) == ("Warm up", "热身")
    # Abbreviation only: the id is its slug and it is an alias too; the Chinese name opens the definition.
    assert (got["gap"].term_en, got["gap"].term_zh, got["gap"].aliases) == ("GAP", "全局平均池化", ("GAP",))
    assert got["backbone"].term_zh == "骨干网络"
    # Chinese only: a placeholder id the report asks to rename; the English term falls back to the Chinese one.
    assert (got[placeholder].term_en, got[placeholder].term_zh) == ("感受野", "感受野")
    assert any(placeholder in n and "rename" in n for n in report.notes)
    for e in got.values():
        assert e.is_draft and not e.facet_keys("zh") and not e.facet_keys("en")
        assert e.en.startswith("DRAFT") and "glossary_notes.txt" in e.en


def test_a_pair_becomes_two_related_entries_sharing_the_definition(notes):
    got = entries(notes[1])
    adapt, general = got["domain-adaptation"], got["domain-generalization"]
    assert (adapt.term_en, adapt.term_zh) == ("domain adaptation", "域适应")
    assert (general.term_en, general.term_zh) == ("domain generalization", "域泛化")
    assert adapt.related == ("domain-generalization",) and general.related == ("domain-adaptation",)
    assert adapt.zh == general.zh and "域泛化训练时完全看不到目标域" in adapt.zh
    pretext, downstream = got["pretext-task"], got["downstream-task"]
    assert (pretext.term_zh, downstream.term_zh) == ("pretext task", "downstream task")  # no Chinese: fall back
    assert pretext.related == ("downstream-task",) and downstream.related == ("pretext-task",)


def code_blocks(markdown: str) -> list[str]:
    parts = markdown.split("```")
    assert len(parts) % 2 == 1, "fences are balanced"
    return [p.removeprefix("python\n") for p in parts[1::2]]


def test_code_and_printed_tensors_stay_inside_the_entry_as_a_code_block(notes):
    got = entries(notes[1])
    [gap_code] = code_blocks(got["gap"].zh)
    assert gap_code.split("\n")[:3] == ["import torch", "from torch import nn", "self.gap = nn.AdaptiveAvgPool2d(1)"]
    assert "tensor([[1., 1.]])" in gap_code
    assert got["gap"].zh.rstrip().endswith("输出的形状是 (N, C)，与输入的高和宽无关。")  # prose after the code stays prose
    # Colons inside code (annotations, slices, REPL prompts, training logs) never start a new entry.
    [warm_code] = code_blocks(got["warm-up"].zh)
    for line in (">>> print(lr)", "[0.02, 0.04, 0.06, 0.08, 0.1]", "    return min(1.0, (step + 1) / total)",
                 "x: int = 3", "print(a:b)", "Epoch 1: loss 0.93"):
        assert line in warm_code.split("\n")
    assert "热身结束后通常接余弦退火。" in got["warm-up"].zh
    [backbone_code] = code_blocks(got["backbone"].zh)
    assert backbone_code.startswith("import torchvision\n")


def test_the_related_articles_tail_is_skipped_block_by_block(notes):
    report, corpus = notes
    text = "".join(p.read_text(encoding="utf-8") for p in corpus.glob("*.md"))
    for unrelated in ("相关文章", "Python爬虫", "Vue3", "MySQL", "阅读", "example.com"):
        assert unrelated not in text
    assert "heading" in skipped_reason(report, "相关文章")
    for title in ("Python爬虫入门教程", "Vue3 组件通信的六种方式", "MySQL 索引优化实战"):
        assert "after the '相关文章' heading" in skipped_reason(report, title)
    assert "counts" in skipped_reason(report, "Python爬虫入门教程")
    assert "date" in skipped_reason(report, "MySQL")
    assert "title" in skipped_reason(report, "深度学习术语整理")


def test_imported_files_pass_the_corpus_check(notes, noisy):
    for _, corpus in (notes, noisy):
        assert check_corpus(load_corpus(corpus)) == []


def test_blurbs_links_and_duplicates_without_a_heading_are_skipped_with_reasons(noisy):
    report, corpus = noisy
    got = entries(corpus)
    placeholder = next(i for i in got if i.startswith("term-"))
    assert set(got) == {"dropout", "global-average-pooling", "batchnorm", "layernorm", "contrastive-learning",
                        "softmax", placeholder}
    # Counts, dates and "views" that belong to a definition do not make it look like an article listing.
    assert "2020-02-13 发表的 SimCLR" in got["contrastive-learning"].zh
    assert "counts" in skipped_reason(report, "十分钟搞懂 Docker 部署")
    assert "counts" in skipped_reason(report, "Vue3")
    assert "link" in skipped_reason(report, "参考资料")
    assert "link" in skipped_reason(report, "http://example.com")
    assert "duplicate" in skipped_reason(report, "Global Average Pooling：")
    assert "global-average-pooling.md" in skipped_reason(report, "全局平均池化（GAP）")  # a name already taken
    gap = got["global-average-pooling"]
    assert (gap.term_zh, gap.aliases) == ("全局平均池化", ("GAP",))
    assert "又写了一遍" not in gap.zh
    # "Dropout：" alone on its line: the definition below it, indented code fenced; CRLF gone.
    assert got["dropout"].zh.startswith("训练时以一定概率")
    assert code_blocks(got["dropout"].zh) == ["drop = nn.Dropout(p=0.5)\ny = drop(torch.ones(2, 4))\n"]
    assert got["batchnorm"].related == ("layernorm",)
    assert (got["softmax"].term_en, got["softmax"].term_zh) == ("Softmax", "Softmax函数")
    assert not any("\r" in p.read_text(encoding="utf-8") for p in corpus.glob("*.md"))


def test_reimport_skips_existing_files_unless_forced(notes):
    first, corpus = notes
    edited = corpus / "backbone.md"
    edited.write_text(edited.read_text(encoding="utf-8").replace("DRAFT —", "Backbone: the feature extractor."),
                      encoding="utf-8")
    again = import_file(NOTES, corpus, force=False)
    assert not again.created and not again.overwritten
    exists = [s for s in again.skipped if "exists, skipped (use --force)" in s.reason]
    assert len(exists) == len(first.created)
    assert "the feature extractor" in edited.read_text(encoding="utf-8")

    forced = import_file(NOTES, corpus, force=True)
    assert {w.id for w in forced.overwritten} == {w.id for w in first.created} and not forced.created
    assert "the feature extractor" not in edited.read_text(encoding="utf-8")
    assert any(line.startswith("overwritten ") for line in forced.lines())


def test_a_term_already_named_by_another_entry_is_not_imported_twice(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "global-average-pooling.md").write_text(
        "---\nid: global-average-pooling\nterm_en: Global Average Pooling\nterm_zh: 全局平均池化\naliases: [GAP]\n---\n\n"
        "## 中文\n全局平均池化。\n\n## English\nGlobal average pooling.\n", encoding="utf-8")
    report = import_file(NOTES, corpus, force=False)
    assert "global-average-pooling.md" in skipped_reason(report, "GAP：")
    assert not (corpus / "gap.md").exists()
    forced = import_file(NOTES, corpus, force=True)
    assert (corpus / "gap.md").exists() and any("global-average-pooling.md" in n for n in forced.notes)


def test_report_lines_name_each_file_and_end_with_the_counts(notes):
    report, corpus = notes
    lines = report.lines()
    assert f"created {corpus / 'warm-up.md'} (Warm up / 热身) — 中文 from line 19; English: draft placeholder" in lines
    assert any(line.startswith("skipped: 'Python爬虫入门教程：从零开始抓取网页数据' — after") for line in lines)
    counts = f"{len(report.created)} created, 0 overwritten, {len(report.skipped)} skipped from glossary_notes.txt."
    assert counts in lines


ONLY_THE_TAIL = NOTES.read_text(encoding="utf-8").split("相关文章", 1)[1].encode("utf-8")


@pytest.mark.parametrize("name, content, expected", [
    ("gbk_encoded.txt", None, "not UTF-8"),  # the stored sample
    ("scan.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
    ("utf16.txt", "backbone：骨干网络".encode("utf-16"), "binary"),
    ("missing.txt", None, "does not exist"),
    (".", None, "folder"),
    ("articles_only.txt", ONLY_THE_TAIL, "Nothing"),
    ("empty.txt", b"", "Nothing"),
])
def test_unreadable_or_empty_input_is_refused_with_a_hint(tmp_path, name, content, expected):
    file = GBK if name == GBK.name else tmp_path / name
    if content is not None:
        file.write_bytes(content)
    with pytest.raises(CorpusError) as caught:
        import_file(file, tmp_path / "corpus", force=False)
    assert expected in caught.value.message and caught.value.hint
    assert not (tmp_path / "corpus").exists()


@pytest.mark.parametrize("line, para_start, expected", [
    ("backbone: 骨干网络", False, ("backbone", "骨干网络")),
    ("热身Warm up：训练初期", False, ("热身Warm up", "训练初期")),
    ("GAP：全局平均池化", False, ("GAP", "全局平均池化")),
    ("backbone: the feature extractor", True, ("backbone", "the feature extractor")),
    ("backbone: the feature extractor", False, None),  # English rest mid-paragraph: continuation
    ("x: int = 3", True, None),
    ("print(a:b)", True, None),
    (">>> d = {'a': 1}", True, None),
    ("    key: 中文值", True, None),
    ("\tkey: 中文值", True, None),
    ("http://example.com/a", True, None),
    ("import os: 中文", True, None),
    ("lr = 0.1: 中文", True, None),
    ("for i in range(3): 中文", True, None),
    ("这是一个很长的句子，里面有标点符号：后面还有文字", True, None),
    ("例如：ResNet 的前四个 stage", False, None),  # a lead-in, not a term
    ("10:30 开会", True, None),
])
def test_term_lines_versus_code_and_prose(line, para_start, expected):
    assert term_line(line, para_start) == expected


@pytest.mark.parametrize("term, expected", [
    ("backbone", [("backbone", "backbone")]),
    ("热身Warm up", [("Warm up", "热身")]),
    ("pretext task和downstream task", [("pretext task", "pretext task"), ("downstream task", "downstream task")]),
    ("domain adaptation 和domain generalization 域适应和域泛化",
     [("domain adaptation", "域适应"), ("domain generalization", "域泛化")]),
    ("BatchNorm and LayerNorm", [("BatchNorm", "BatchNorm"), ("LayerNorm", "LayerNorm")]),
    ("编码器与解码器", [("编码器", "编码器"), ("解码器", "解码器")]),
    ("全局平均池化（GAP）", [("GAP", "全局平均池化")]),
])
def test_terms_split_into_english_and_chinese_names(term, expected):
    names, _ = parse_term(term)
    assert [(n.en, n.zh) for n in names] == expected


LINES = st.sampled_from([
    "backbone: 骨干网络", "GAP：全局平均池化", "热身Warm up：学习率", "A和B 甲和乙：定义", "x: int = 3", "print(a:b)",
    ">>> y = f(x)", "    [0.1, 0.2]])", "tensor([[1.]])", "```", "## 中文", "# 注释", "相关文章", "阅读 1.2k",
    "http://example.com", "null: 空", "---", "'quoted': 引号", "", "", "说明文字。",
    "end to end", "热身Warm up", "temperature parameters 在论文中经常能看到这个系数", "输出结果如下",
    "深度学习术语解释:backbone、head、neck,etc", "### Why", "端到端，指直接从输入学到输出的做法。",
])


@settings(max_examples=120, deadline=None)
@given(st.lists(LINES, max_size=14), st.booleans())
def test_any_mix_of_lines_is_refused_or_yields_entries_that_pass_the_check(lines, force):
    with tempfile.TemporaryDirectory() as tmp:
        source, corpus = Path(tmp) / "g.txt", Path(tmp) / "corpus"
        source.write_text("\n".join(lines), encoding="utf-8")
        for _ in range(2):  # the second run skips or overwrites what the first wrote
            try:
                report = import_file(source, corpus, force=force)
            except CorpusError:
                return
            assert report.lines()[-1].endswith(".")
        assert check_corpus(load_corpus(corpus)) == []


@pytest.mark.slow
def test_cli_import_prints_the_report(tmp_path):
    corpus = tmp_path / "corpus"
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    run = subprocess.run([sys.executable, "-m", "glossarian", "corpus", "import", str(NOTES), "--corpus", str(corpus)],
                         capture_output=True, text=True, encoding="utf-8", env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    out = run.stdout.splitlines()
    assert f"created {corpus / 'gap.md'} (GAP / 全局平均池化) — 中文 from line 10; English: draft placeholder" in out
    assert any(line.startswith("skipped: '相关文章' — ") for line in out)
    assert out[-2].startswith("8 created, 0 overwritten, ") and out[-2].endswith(" skipped from glossary_notes.txt.")
    assert (corpus / "warm-up.md").is_file()
