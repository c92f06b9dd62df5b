"""Retrieval over the full shipped corpus: questions as users ask them find their entry; off-topic ones get none."""
from __future__ import annotations

import json

import pytest
from helpers import DATA

from glossarian.evaluate import evaluate, load_cases
from glossarian.lang import detect_language

SEEDS = [json.loads(line) for line in (DATA / "seed_questions.jsonl").read_text("utf-8").splitlines() if line.strip()]


def ids(retrieval) -> list[str]:
    return [h.entry.id for h in retrieval.hits]


# Questions that name the term (possibly abbreviated or in slang) must find it, one by one.
NAMING = [c for c in SEEDS if c["category"] in ("colloquial", "abbrev")]
# Questions that only describe it are where a small encoder is weakest: guarded as a rate.
DESCRIBING = [c for c in SEEDS if c["category"] not in ("colloquial", "abbrev")]


@pytest.mark.parametrize("case", NAMING, ids=[f"{c['expected'][0]}-{c['category']}-{n}" for n, c in enumerate(NAMING)])
def test_seed_question_naming_its_term_finds_it_in_the_top_3(retriever, case):
    r = retriever.search(case["question"])
    assert not r.abstained and case["expected"][0] in ids(r)[:3], \
        f"{case['question']!r}: expected {case['expected'][0]}, got {ids(r)[:3] or 'no answer'}"


def test_seed_questions_describing_their_term_mostly_find_it(retriever):
    """Measured 0.71 hit@3 (20 of 28) when written; the floor guards against regressions."""
    misses = []
    for case in DESCRIBING:
        r = retriever.search(case["question"])
        if case["expected"][0] not in ids(r)[:3]:
            misses.append(f"{case['question']!r} -> {ids(r)[:3] or 'no answer'} (expected {case['expected'][0]})")
    rate = 1 - len(misses) / len(DESCRIBING)
    assert rate >= 0.65, f"hit@3 {rate:.2f} on descriptive seed questions; misses:\n" + "\n".join(misses)


def test_every_seed_entry_has_three_kinds_of_question():
    kinds: dict[str, set[str]] = {}
    for c in SEEDS:
        kinds.setdefault(c["expected"][0], set()).add(c["lang"])
    assert len(kinds) == 14 and all(len(langs) >= 2 for langs in kinds.values())


OUT_OF_SCOPE = {
    "css-flexbox-zh": "CSS 里 flexbox 怎么让元素垂直居中？",
    "css-grid": "How do I center a div with CSS grid?",
    "tcp-handshake-zh": "TCP 三次握手是怎么回事",
    "tcp-vs-udp": "What is the difference between TCP and UDP?",
    "nginx-proxy": "How do I configure nginx as a reverse proxy?",
    "cooking-pork-zh": "红烧肉怎么做才不腻",
    "cooking-egg": "How long should I boil an egg for a runny yolk?",
    "chitchat-weather-zh": "你好，今天天气怎么样",
    "chitchat-joke": "tell me a joke",
    "git-rebase-zh": "git rebase 和 merge 有什么区别",
    "geography": "What's the capital of Australia?",
    "pets-zh": "怎么给猫剪指甲",
    "hiking-zh": "周末去哪里爬山比较好",
    "plumbing-leak": "how do I fix a leaking kitchen tap",
}


@pytest.mark.xfail(strict=True, reason="known limitation: a question naming a glossary term ('HEAD') in another "
                   "field's sense is answered when the term's entry is closer than any background passage")
def test_git_head_is_not_the_network_head(retriever):
    assert retriever.search("What does HEAD point to in git?").abstained


@pytest.mark.parametrize("question", list(OUT_OF_SCOPE.values()), ids=list(OUT_OF_SCOPE))
def test_out_of_scope_question_gets_no_sources(retriever, question):
    r = retriever.search(question)
    assert r.abstained and r.hits == [], f"{question!r} was answered with {ids(r)}"
    assert len(r.nearest) <= 3


def test_abstaining_still_suggests_nearest_terms(retriever):
    r = retriever.search("CSS 里 flexbox 怎么让元素垂直居中？")
    assert r.abstained and r.nearest


def test_question_naming_two_terms_returns_both(retriever):
    r = retriever.search("backbone 和 head 分别是什么")
    assert {"backbone", "head"} <= set(ids(r)[:3]), ids(r)
    assert all(h.exact for h in r.hits if h.entry.id in ("backbone", "head"))


def test_named_terms_are_reported_in_the_order_the_question_names_them(retriever):
    """The answer defines the named terms in this order ("backbone 和 head" -> backbone first)."""
    assert retriever.search("backbone 和 head 分别是什么").named[:2] == ["backbone", "head"]
    assert retriever.search("head 和 backbone 分别是什么").named[:2] == ["head", "backbone"]


@pytest.mark.parametrize("question, expected", [
    ("GAP是什么", "global-average-pooling"),
    ("什么是BN", "batch-normalization"),
    ("训练时 BN 的均值和方差怎么算", "batch-normalization"),
    ("LR 一般设多少", "learning-rate"),
    ("What does LR mean?", "learning-rate"),
])
def test_exact_alias_ranks_its_entry_first(retriever, question, expected):
    r = retriever.search(question)
    assert ids(r)[:1] == [expected], ids(r)
    assert r.hits[0].exact


@pytest.mark.parametrize("question", ["the gap between train and test", "why is there a gap between my train and val loss"])
def test_ordinary_word_gap_is_not_the_abbreviation(retriever, question):
    r = retriever.search(question)
    assert ids(r)[:1] != ["global-average-pooling"], ids(r)
    assert not any(h.exact for h in r.hits if h.entry.id == "global-average-pooling")


@pytest.mark.parametrize("question", ["what is droput", "droput 是什么", "droput rate 设多少合适"])
def test_typo_still_finds_the_term(retriever, question):
    assert ids(retriever.search(question))[:1] == ["dropout"]


@pytest.mark.parametrize("question, lang", [
    ("什么是GAP？", "zh"),
    ("backbone 和 head 分别是什么", "zh"),
    ("warmup到底有啥用", "zh"),
    ("What is a backbone?", "en"),
    ("what is 学习率?", "en"),
    ("How does dropout work", "en"),
])
def test_question_language_is_detected(question, lang):
    assert detect_language(question) == lang


# -- dev-set quality gates (the CI gates of the corpus issue) ----------------------------------------

@pytest.fixture(scope="module")
def dev_report(retriever):
    return evaluate(retriever, load_cases(DATA / "eval_dev.jsonl"))


def _misses(report, k: int, limit: int = 20) -> str:
    missed = [o for o in report.outcomes if o.in_scope and not o.hit(k)]
    return "\n".join(f"  {o.case.question!r}: expected {o.case.expected}, "
                     f"got {'ABSTAINED' if o.abstained else o.got[:3]}" for o in missed[:limit])


def test_dev_set_hit_at_1(dev_report):
    value = dev_report.summary["overall"]["hit@1"]
    assert value >= 0.90, f"hit@1 = {value}\n{_misses(dev_report, 1)}"


def test_dev_set_hit_at_3(dev_report):
    value = dev_report.summary["overall"]["hit@3"]
    assert value >= 0.97, f"hit@3 = {value}\n{_misses(dev_report, 3)}"


def test_dev_set_out_of_scope_questions_are_refused(dev_report):
    value = dev_report.summary["abstention"]["oos_abstained"]
    answered = [f"  {o.case.question!r} -> {o.got[:3]}" for o in dev_report.outcomes if not o.in_scope and not o.abstained]
    assert value >= 0.90, f"out-of-scope abstained = {value}\n" + "\n".join(answered)


def test_dev_set_in_scope_questions_are_rarely_refused(dev_report):
    value = dev_report.summary["abstention"]["in_scope_wrongly_abstained"]
    refused = [f"  {o.case.question!r}" for o in dev_report.outcomes if o.in_scope and o.abstained]
    assert value <= 0.03, f"in-scope wrongly abstained = {value}\n" + "\n".join(refused)
