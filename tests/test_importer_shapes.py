"""Tests for `corpus import` on the shapes of the user's real notes, --dry-run and --translate (real files, real server)."""
import os
import subprocess
import sys

import pytest
import yaml
from fake_openai_server import FakeOpenAI, fake, http_error, server, text  # noqa: F401

from glossarian.corpus import check_corpus, load_corpus, parse_entry
from glossarian.importer import Translator, import_file, term_line
from glossarian.answer.llm import LLMBackend

SAMPLES = __import__("pathlib").Path(__file__).parent / "data" / "import_samples"
USER = SAMPLES / "user_notes.txt"  # the shapes of the user's notes: bare term lines, inline terms, a title listing
ENGLISH = SAMPLES / "english_notes.txt"  # definitions written in English
THE_14 = {"backbone", "head", "neck", "bottleneck", "gap", "embedding", "ground-truth", "pretext-task",
          "downstream-task", "temperature-parameters", "warm-up", "end-to-end", "domain-adaptation",
          "domain-generalization"}


def entries(corpus):
    out = {}
    for path in sorted(corpus.glob("*.md")):
        entry, problems = parse_entry(path, corpus)
        assert not problems, problems
        out[entry.id] = entry
    return out


def front_matter(path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8").split("---\n")[1])


def code_blocks(markdown: str) -> list[str]:
    parts = markdown.split("```")
    assert len(parts) % 2 == 1, "fences are balanced"
    return [p.removeprefix("python\n") for p in parts[1::2]]


@pytest.fixture
def user(tmp_path):
    corpus = tmp_path / "corpus"
    return import_file(USER, corpus), corpus


def test_every_term_of_the_users_notes_becomes_an_entry_and_the_title_does_not(user):
    report, corpus = user
    got = entries(corpus)
    assert set(got) == THE_14
    [title] = report.skipped
    assert title.line == 1 and "title" in title.reason
    assert check_corpus(load_corpus(corpus)) == []


def test_a_term_alone_on_its_line_takes_the_lines_below_it(user):
    got = entries(user[1])
    assert (got["warm-up"].term_en, got["warm-up"].term_zh) == ("Warm up", "热身")
    assert got["warm-up"].zh.startswith("训练刚开始时先用一个较小的学习率")
    assert got["head"].zh.startswith("head 是获取网络输出内容的部分") and "neck" not in got["head"].zh
    # A term line right after a finished sentence, with no blank line, still starts a new entry.
    assert got["neck"].zh.endswith("把不同尺度的特征融合起来。") and "瓶颈" not in got["neck"].zh
    assert got["bottleneck"].term_zh == "瓶颈结构" and "bottle_num=256" in got["bottleneck"].zh
    # A blank line between the term and its definition.
    assert (got["end-to-end"].term_zh, got["end-to-end"].zh[:6]) == ("端到端", "端到端，指输")
    assert (got["gap"].term_en, got["gap"].term_zh) == ("GAP", "全局平均池化")


def test_a_pair_on_its_own_line_becomes_two_linked_entries(user):
    got = entries(user[1])
    adapt, general = got["domain-adaptation"], got["domain-generalization"]
    assert (adapt.term_en, adapt.term_zh, general.term_en, general.term_zh) == (
        "domain adaptation", "域适应", "domain generalization", "域泛化")
    assert adapt.related == ("domain-generalization",) and general.related == ("domain-adaptation",)
    assert adapt.zh == general.zh and adapt.zh.endswith("这种情况更常见。")  # the user's claim is kept as written
    assert got["pretext-task"].related == ("downstream-task",)


def test_a_term_running_into_its_prose_keeps_its_sentence(user):
    temp = entries(user[1])["temperature-parameters"]
    assert temp.term_en == "temperature parameters"
    assert temp.zh.startswith("temperature parameters 在论文中经常能看到，它是 softmax 里")
    assert "T 越大输出分布越平滑" in temp.zh
    assert code_blocks(temp.zh) == [">>> torch.softmax(torch.tensor([1., 2., 3.]) / 0.5, dim=0)\n"
                                    "tensor([0.0159, 0.1173, 0.8668])\n"]


def test_code_printed_tensors_and_output_blocks_stay_in_their_definition(user):
    got = entries(user[1])
    gap = got["gap"].zh
    assert code_blocks(gap) == ["import torch\nfrom torch import nn\ngap = nn.AdaptiveAvgPool2d(1)\n"
                                "x = torch.ones(2, 3, 4, 4)\nprint(gap(x).shape)\n", "torch.Size([2, 3, 1, 1])\n"]
    assert "\n输出结果如下\n" in gap and gap.endswith("输出只剩通道维，参数量为零。")
    emb = got["embedding"].zh
    assert "输出结果如下：" in emb and emb.endswith("这张表在训练中一起更新。")
    assert "grad_fn=<EmbeddingBackward0>)" in code_blocks(emb)[1]
    assert not any("输出" in i or "tensor" in i for i in got)  # no output line became an entry


def test_drafts_are_v2_with_the_other_language_and_missing_facets_marked(user):
    report, corpus = user
    got = entries(corpus)
    for e in got.values():
        assert e.is_draft and e.en.startswith("DRAFT — English definition to be written (imported from user_notes.txt)")
        assert not e.facet_keys("zh") and not e.facet_keys("en")
    draft = front_matter(corpus / "warm-up.md")["draft"]
    assert draft == {"source": "user_notes.txt:45", "written_in": "zh", "en": "placeholder",
                     "missing_facets": ["why", "how", "example"]}


def test_a_definition_written_in_english_fills_the_english_section(tmp_path):
    corpus = tmp_path / "corpus"
    import_file(ENGLISH, corpus)
    got = entries(corpus)
    assert set(got) == {"label-smoothing", "early-stopping"}
    smoothing = got["label-smoothing"]
    assert smoothing.en.startswith("Replace the one-hot target") and smoothing.zh.startswith("草稿——中文定义待写")
    assert front_matter(corpus / "label-smoothing.md")["draft"]["zh"] == "placeholder"
    assert got["early-stopping"].en.startswith("Stop training when")


@pytest.mark.parametrize("line, prev, nxt, expected", [
    ("end to end", "", "端到端，指输入原始数据直接输出结果。", ("end to end", "")),
    ("热身Warm up", "上一条的定义。", "训练刚开始时先用较小的学习率。", ("热身Warm up", "")),
    ("## end to end", "", "端到端，指输入原始数据直接输出结果。", ("end to end", "")),
    ("end to end", "训练刚开始时先用较小的学习率，", "端到端，指输入原始数据。", None),  # mid-sentence: a wrapped line
    ("输出结果如下", "print(x)", "tensor([1., 2.])", None),
    ("输出结果如下", "定义。", "第一行输出是这样的内容。", None),
    ("总结一下", "定义。", "这是总结的内容，很长很长。", None),
    ("backbone", "", "tensor([1., 2.])", None),  # code below: not a definition
    ("backbone", "", "head", None),  # another bare name below
    ("网络越深感受野就越大", "定义。", "这是后面的一句话，很长。", None),
    ("Epoch 1 loss 0.93", "", "训练还在继续，损失在下降。", None),
    ("neck", "torch.Size([1, 10])", "放在 backbone 和 head 之间，融合特征。", ("neck", "")),  # a term right under output
    ("True", "print(x > 0)", "说明这个张量里的值都大于零。", None),  # printed output
    ("hello world", "print(s)", "可以看到字符串被原样打印出来了。", None),
    ("temperature parameters 在论文中经常能看到", "", "", ("temperature parameters", "temperature parameters 在论文中经常能看到")),
    ("ResNet 的前四个 stage 常被用作特征提取器", "", "", None),  # a sentence about ResNet
    ("print(x) 输出的是一个很长的张量", "", "", None),
])
def test_terms_without_a_colon(line, prev, nxt, expected):
    assert term_line(line, not prev, nxt, prev) == expected


@pytest.mark.parametrize("first_line, title", [
    ("深度学习术语解释:backbone、head、neck,etc", True),
    ("# 训练笔记：dropout、BN、warmup", True),
    ("常见模块：backbone、head、neck等", True),
    ("激活函数：ReLU、Sigmoid、Tanh", False),  # a short definition by examples is the user's entry
    ("深度学习术语解释", True),  # alone above the first entry
])
def test_the_documents_title_is_not_an_entry(tmp_path, first_line, title):
    notes = tmp_path / "notes.txt"
    notes.write_text(f"{first_line}\n\nend to end\n端到端，指输入原始数据、直接输出最终结果。\n", encoding="utf-8")
    report = import_file(notes, tmp_path / "corpus", dry_run=True)
    assert "end-to-end" in {w.id for w in report.created}
    assert any(s.line == 1 and "title" in s.reason for s in report.skipped) == title
    assert len(report.created) == (1 if title else 2)


# ---------------------------------------------------------------- --dry-run


def test_dry_run_shows_what_would_be_created_and_writes_nothing(tmp_path):
    corpus = tmp_path / "corpus"
    dry = import_file(USER, corpus, dry_run=True)
    assert not corpus.exists()
    lines = dry.lines()
    assert (f"would create {corpus / 'warm-up.md'} (Warm up / 热身) — 中文 from line 45; English: draft placeholder; "
            "missing facets: why, how, example") in lines
    assert lines[-1] == "Dry run: 14 to create, 0 to overwrite, 1 skipped from user_notes.txt; nothing was written."
    real = import_file(USER, corpus)
    assert [w.id for w in real.created] == [w.id for w in dry.created]
    before = {p.name: p.read_text(encoding="utf-8") for p in corpus.glob("*.md")}
    again = import_file(USER, corpus, dry_run=True, force=True)
    assert {w.id for w in again.overwritten} == THE_14 and any(ln.startswith("would overwrite ") for ln in again.lines())
    assert {p.name: p.read_text(encoding="utf-8") for p in corpus.glob("*.md")} == before


# ---------------------------------------------------------------- --translate


def test_translate_drafts_the_other_language_once_per_definition(tmp_path, fake):
    notes = tmp_path / "notes.txt"
    notes.write_text("热身Warm up\n训练刚开始时先用较小的学习率训练几个 epoch，再换成预设的学习率。\n\n"
                     "domain adaptation 和domain generalization 域适应和域泛化\n两者都处理训练和测试分布不一致的问题。\n",
                     encoding="utf-8")
    fake.script(text("<think>short</think>Warm-up trains ", "with a small learning rate first."),
                text("Both deal with a shift between training and test distributions.\n### Why\nnot a facet"))
    corpus = tmp_path / "corpus"
    report = import_file(notes, corpus, translator=Translator(LLMBackend(fake.url, "", "fake-model", timeout=5)))
    assert len(fake.requests) == 2, "the pair shares one translation"
    system, user_msg = fake.requests[0]["messages"]
    assert "into English" in system["content"] and "训练刚开始时先用较小的学习率" in user_msg["content"]
    got = entries(corpus)
    warm = got["warm-up"]
    assert warm.en.startswith("Warm-up trains with a small learning rate first.\n\n_Machine draft (fake-model")
    assert warm.zh.startswith("训练刚开始时") and warm.is_draft
    assert front_matter(corpus / "warm-up.md")["draft"]["en"] == "machine draft (fake-model)"
    assert got["domain-adaptation"].en == got["domain-generalization"].en
    assert not got["domain-adaptation"].facet_keys("en")  # a heading in the reply cannot open a facet
    assert any("English: machine draft by fake-model" in ln for ln in report.lines())
    assert check_corpus(load_corpus(corpus)) == []


def test_translate_failure_keeps_placeholders_and_says_why(tmp_path, fake):
    fake.script(http_error(500, "model crashed"))
    corpus = tmp_path / "corpus"
    report = import_file(USER, corpus, translator=Translator(LLMBackend(fake.url, "", "fake-model", timeout=5)))
    assert len(fake.requests) == 1, "the first failure stops further requests"
    assert any("--translate stopped at backbone.md" in n and "HTTP 500" in n for n in report.notes)
    assert len(report.created) == 14
    assert all(e.en.startswith("DRAFT") for e in entries(corpus).values())


def test_dry_run_with_translate_calls_no_endpoint(tmp_path, fake):
    report = import_file(USER, tmp_path / "corpus", dry_run=True,
                         translator=Translator(LLMBackend(fake.url, "", "fake-model", timeout=5)))
    assert not fake.requests and not (tmp_path / "corpus").exists()
    assert "English: machine draft by fake-model" in report.lines()[1]


def run_cli(*args, **env):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("GLOSSARIAN_LLM")}
    full_env.update(PYTHONIOENCODING="utf-8", **env)
    return subprocess.run([sys.executable, "-m", "glossarian", "corpus", "import", *args], capture_output=True,
                          text=True, encoding="utf-8", env=full_env, timeout=120)


@pytest.mark.slow
def test_cli_translate_and_dry_run(tmp_path, fake):
    corpus = tmp_path / "corpus"
    refused = run_cli(str(ENGLISH), "--corpus", str(corpus), "--translate")
    assert refused.returncode == 2 and "GLOSSARIAN_LLM_BASE_URL" in refused.stderr and not corpus.exists()

    dry = run_cli(str(ENGLISH), "--corpus", str(corpus), "--dry-run")
    assert dry.returncode == 0 and dry.stdout.splitlines()[-1].startswith("Dry run: 2 to create") and not corpus.exists()

    fake.script(text("标签平滑把 one-hot 目标换成混合分布。"), text("当验证集指标不再提升时停止训练。"))
    run = run_cli(str(ENGLISH), "--corpus", str(corpus), "--translate",
                  GLOSSARIAN_LLM_BASE_URL=fake.url, GLOSSARIAN_LLM_MODEL="fake-model")
    assert run.returncode == 0, run.stderr
    zh = entries(corpus)["label-smoothing"].zh
    assert zh.startswith("标签平滑把 one-hot 目标换成混合分布。\n\n_机器草稿（fake-model")
    assert "into 中文" in fake.requests[0]["messages"][0]["content"]
