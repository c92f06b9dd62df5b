"""Retrieval over the full shipped corpus: questions as users ask them find their entry; off-topic ones get none."""
from __future__ import annotations

import json
import re

import pytest
from helpers import CORPUS, DATA

from glossarian.evaluate import evaluate, load_cases
from glossarian.lang import detect_language, is_traditional, to_simplified, to_traditional
from glossarian.retrieval import NAME_SEEKING

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


def test_git_head_is_not_the_network_head(retriever):
    """A question naming a glossary term ('HEAD') in another field's sense: the background (other senses of
    glossary words) must be able to beat the named entry."""
    assert retriever.search("What does HEAD point to in git?").abstained


def test_out_of_scope_questions_mostly_get_no_sources(retriever):
    """A guarded rate: 13 of 14 abstained when measured (2026-11-29); the miss was 'TCP 三次握手是怎么回事',
    which no background line covers in Chinese (none is added for it: that would fit the test)."""
    answered = []
    for question in OUT_OF_SCOPE.values():
        r = retriever.search(question)
        assert r.abstained == (r.hits == []) and len(r.nearest) <= 3
        if not r.abstained:
            answered.append(f"{question!r} -> {ids(r)}")
    assert len(answered) <= 2, "\n".join(answered)


def test_abstaining_still_suggests_nearest_terms(retriever):
    r = retriever.search("CSS 里 flexbox 怎么让元素垂直居中？")
    assert r.abstained and r.nearest


def test_question_naming_two_terms_returns_both(retriever):
    r = retriever.search("backbone 和 head 分别是什么")
    assert {"backbone", "head"} <= set(ids(r)[:3]), ids(r)
    assert all(h.named for h in r.hits if h.entry.id in ("backbone", "head"))


def test_named_terms_are_reported_in_the_order_the_question_names_them(retriever):
    """The answer defines the named terms in this order ("backbone 和 head" -> backbone first)."""
    assert retriever.search("backbone 和 head 分别是什么").named_in_question[:2] == ["backbone", "head"]
    assert retriever.search("head 和 backbone 分别是什么").named_in_question[:2] == ["head", "backbone"]


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
    assert r.hits[0].named


@pytest.mark.parametrize("question", ["the gap between train and test", "why is there a gap between my train and val loss"])
def test_ordinary_word_gap_is_not_the_abbreviation(retriever, question):
    r = retriever.search(question)
    assert ids(r)[:1] != ["global-average-pooling"], ids(r)
    assert not any(h.named for h in r.hits if h.entry.id == "global-average-pooling")


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


# -- mixed-case names that are also ordinary words (derived from the background's vocabulary) -------

@pytest.mark.parametrize("question, entry", [
    ("how do I draw a map of Europe", "mean-average-precision"),
    ("what size mattress fits a cot bed", "chain-of-thought"),
    ("is there a gap year program for nurses", "global-average-pooling"),
])
def test_ordinary_word_does_not_name_a_mixed_case_abbreviation(retriever, question, entry):
    r = retriever.search(question)
    assert entry not in r.named_in_question, r.named_in_question


@pytest.mark.parametrize("question, entry", [
    ("mAP 是怎么算的", "mean-average-precision"),
    ("how is mAP computed for COCO?", "mean-average-precision"),
    ("CoT prompting 为什么有用", "chain-of-thought"),
    ("what is GAP in a CNN", "global-average-pooling"),
])
def test_mixed_case_abbreviation_written_as_such_names_its_entry(retriever, question, entry):
    r = retriever.search(question)
    assert r.named_in_question[:1] == [entry] and ids(r)[:1] == [entry], (r.named_in_question, ids(r))


# -- Traditional Chinese ------------------------------------------------------------------------------

TRADITIONAL = [
    ("批次正規化是什麼", "批次正规化是什么"),
    ("骨幹網絡是做什麼的", "骨干网络是做什么的"),
    ("學習率應該怎麼設", "学习率应该怎么设"),
    ("過擬合了怎麼辦", "过拟合了怎么办"),
    ("注意力機制裡的 Q、K、V 分別是什麼", "注意力机制里的 Q、K、V 分别是什么"),
    ("怎麼煮一鍋好喝的雞湯", "怎么煮一锅好喝的鸡汤"),
]


@pytest.mark.parametrize("traditional, simplified", TRADITIONAL, ids=[t for t, _ in TRADITIONAL])
def test_traditional_question_retrieves_exactly_like_simplified(retriever, traditional, simplified):
    assert is_traditional(traditional) and not is_traditional(simplified)
    t, s = retriever.search(traditional), retriever.search(simplified)
    assert (ids(t), t.abstained) == (ids(s), s.abstained)
    assert [round(h.score, 5) for h in t.hits] == [round(h.score, 5) for h in s.hits]


def test_script_conversion_round_trips_and_leaves_english_alone():
    assert to_traditional("批归一化是什么") == "批歸一化是什麼"
    assert to_traditional("what is dropout") == "what is dropout"
    assert not is_traditional("what is dropout") and not is_traditional("什么是 backbone")


def test_answer_to_a_traditional_question_is_written_in_traditional(built_index):
    from glossarian.assistant import Assistant

    from helpers import CORPUS, settings_for

    answer = Assistant(settings_for(CORPUS, built_index)).ask("骨幹網絡是什麼？")
    assert not answer.abstained and answer.sources[0].entry.id == "backbone"
    assert "骨幹網絡" in answer.answer and "骨干网络" not in answer.answer, answer.answer


# -- name-seeking questions: the terms they mention are context ----------------------------------------

@pytest.mark.parametrize("question", [
    "把图片缩小一半再放回原尺寸的那种层叫什么", "这个技巧有专门的名字吗", "这种做法在论文里怎么称呼",
    "训练时随机丢掉一些神经元，这个术语是什么", "what do you call it when the loss stops improving",
    "is there a name for averaging each feature map to one number", "what's the term for a model that copies a bigger one",
    "the layer that fuses multi-scale features is called?", "what would you call a network that compresses then rebuilds its input",
])
def test_name_seeking_questions_are_recognised(question):
    assert NAME_SEEKING.search(question)


@pytest.mark.parametrize("question", [
    "backbone 是什么", "head 和 neck 有什么区别", "学习率怎么设", "what is dropout",
    "how does attention work", "why do we normalise inputs", "which optimizer should I use for a transformer",
])
def test_ordinary_questions_are_not_name_seeking(question):
    assert not NAME_SEEKING.search(question)


CONTEXT = [  # (question naming other terms as context, the entry it is about)
    ("yolo 里的 neck 是干嘛的", "neck"),
    ("the part after the backbone but before the detection head", "neck"),
    ("在 backbone 和 head 之间做多尺度特征融合的那一段叫什么", "neck"),
    ("transformer 里让每个词看到句子里其他词的那个机制是什么", "self-attention"),
    ("用 Adam 训练时每一步参数更新的步长由哪个超参数决定", "learning-rate"),
    ("ResNet 里把输入直接加到输出上的那条捷径叫什么", "residual-connection"),
    ("in a GAN, what is the loss that compares the predicted probabilities with the one-hot labels", "cross-entropy"),
    ("BERT 预训练时把一部分 token 遮住让模型去猜，这种让模型自己给自己出题的学习方式叫什么", "self-supervised-learning"),
]


def test_questions_naming_other_terms_as_context_find_the_described_subject(retriever):
    """A guarded rate (phrasings written for this test, never tuned on). Measured 2026-11-29: the subject is in
    the top 3 for 5 of 8 and first for only 2 of 8 (named terms and their BM25 evidence outrank the described
    subject: an open weakness, README "Retrieval quality")."""
    top3 = [q for q, want in CONTEXT if want in ids(retriever.search(q))[:3]]
    assert len(top3) >= 5, f"subject in the top 3 for only {len(top3)} of {len(CONTEXT)}: {top3}"


# -- the evaluation metric -----------------------------------------------------------------------------

def test_multi_term_hit_at_3_needs_every_term_in_the_top_3_but_not_first():
    from glossarian.evaluate import Case, Outcome

    o = Outcome(Case("backbone 和 head", ["backbone", "head"], "zh", "multi"), ["neck", "backbone", "head"], False)
    assert o.hit(3) and not o.hit(1)
    assert not Outcome(o.case, ["backbone", "neck", "dropout"], False).hit(3)
    assert Outcome(o.case, ["head", "neck", "backbone"], False).hit(1)


# -- evaluation questions are not copies of the data retrieval sees ------------------------------------

def _norm(text: str) -> str:
    return re.sub(r"[\W_]+", "", to_simplified(text).lower())


def _near_duplicates(questions: list[str], lines: list[str]) -> list[str]:
    from difflib import SequenceMatcher

    keyed = [(_norm(line), line) for line in lines]
    found = []
    for q in questions:
        nq = _norm(q)
        for nl, line in keyed:
            if (len(nq) >= 8 and nq in nl) or SequenceMatcher(None, nq, nl).ratio() >= 0.8:
                found.append(f"{q!r} ~ {line!r}")
                break
    return found


EVAL_FILES = sorted(p.name for p in DATA.glob("eval_*.jsonl")) + ["seed_questions.jsonl"]


@pytest.mark.parametrize("name", EVAL_FILES)
def test_no_evaluation_question_is_a_near_duplicate_of_a_background_line_or_an_asks_line(name, index_data):
    from glossarian.index import background_lines

    questions = [json.loads(line)["question"] for line in (DATA / name).read_text("utf-8").splitlines() if line.strip()]
    asks = [a for e in index_data.entries for lines in e.asks.values() for a in lines]
    dups = _near_duplicates(questions, background_lines(index_data.entries) + asks)
    assert not dups, "\n".join(dups[:20])


def test_near_duplicate_check_catches_copies():
    assert _near_duplicates(["什么是智能合约？"], ["区块链：什么是智能合约"])
    assert _near_duplicates(["What is the CAP theorem"], ["what is the CAP theorem?"])
    assert not _near_duplicates(["what is dropout"], ["Dropping out of college is common."])


# -- dev-set regression floors ----------------------------------------------------------------------------
# The parameters were chosen on this set (glossarian tune), so these are regression floors a few points below
# the in-sample figures measured on 2026-11-30 with the 248-entry v2 corpus (hit@1 0.916, hit@3 0.969,
# out-of-scope abstained 0.982, wrongly abstained 0.014), not claims of quality: the cross-validated and
# blind-holdout figures are in the README.

@pytest.fixture(scope="module")
def dev_report(retriever):
    return evaluate(retriever, load_cases(DATA / "eval_dev.jsonl"))


def _misses(report, k: int, limit: int = 20) -> str:
    missed = [o for o in report.outcomes if o.in_scope and not o.hit(k)]
    return "\n".join(f"  {o.case.question!r}: expected {o.case.expected}, "
                     f"got {'ABSTAINED' if o.abstained else o.got[:3]}" for o in missed[:limit])


def test_dev_set_hit_at_1(dev_report):
    value = dev_report.summary["overall"]["hit@1"]
    assert value >= 0.89, f"hit@1 = {value}\n{_misses(dev_report, 1)}"


def test_dev_set_hit_at_3(dev_report):
    value = dev_report.summary["overall"]["hit@3"]
    assert value >= 0.95, f"hit@3 = {value}\n{_misses(dev_report, 3)}"


def test_dev_set_out_of_scope_questions_are_refused(dev_report):
    value = dev_report.summary["abstention"]["oos_abstained"]
    answered = [f"  {o.case.question!r} -> {o.got[:3]}" for o in dev_report.outcomes if not o.in_scope and not o.abstained]
    assert value >= 0.86, f"out-of-scope abstained = {value}\n" + "\n".join(answered)


def test_dev_set_in_scope_questions_are_rarely_refused(dev_report):
    value = dev_report.summary["abstention"]["in_scope_wrongly_abstained"]
    refused = [f"  {o.case.question!r}" for o in dev_report.outcomes if o.in_scope and o.abstained]
    assert value <= 0.02, f"in-scope wrongly abstained = {value}\n" + "\n".join(refused)


# -- dev set for "does the glossary have it" ---------------------------------------------------------------
# tests/data/eval_dev_missing.jsonl (180) was written on 2026-11-30 by someone who had not seen the holdouts: 90
# questions about real terms the glossary lacks, in many forms (not only "what is X"), 30 off-topic (half of them
# other senses of glossary words), 60 in-scope questions that mention a model or library as context. The missing-
# term check (missing.mentioned_term) was developed on it: abstained 0.711 on the absent terms (0.544 before),
# 0.833 off-topic, in-scope wrongly abstained 0.033. Floors a few points below.

@pytest.fixture(scope="module")
def dev_missing_report(retriever):
    return evaluate(retriever, load_cases(DATA / "eval_dev_missing.jsonl"))


def test_questions_about_terms_the_glossary_lacks_abstain(dev_missing_report):
    by_kind = {}
    for o in dev_missing_report.outcomes:
        by_kind.setdefault(o.case.category, []).append(o)
    rate = {k: sum(o.abstained for o in v) / len(v) for k, v in by_kind.items()}
    answered = [o.case.question for o in by_kind["oos-missing"] if not o.abstained]
    assert rate["oos-missing"] >= 0.70, f"{rate}\n" + "\n".join(answered)
    assert rate["oos-offtopic"] >= 0.85, rate
    assert rate["context-proper"] <= 0.06, [o.case.question for o in by_kind["context-proper"] if o.abstained]


# tests/data/eval_dev_context.jsonl (231, written blind on 2026-11-30 from the entries' names and definitions): 150
# questions that name other terms, models or libraries as context, 45 off-topic ones using glossary words in other
# senses, 36 about real terms the glossary lacks. A dev set: tuned on (2026-11-30: context hit@1 0.700, hit@3 0.827,
# wrongly abstained 0.047; off-topic abstained 0.778, absent terms 0.500). Floors a few points below.
@pytest.fixture(scope="module")
def dev_context_report(retriever):
    return evaluate(retriever, load_cases(DATA / "eval_dev_context.jsonl"))


def test_questions_naming_other_terms_as_context_find_their_subject(dev_context_report):
    context = [o for o in dev_context_report.outcomes if o.case.category == "context"]
    hit1, hit3 = (sum(o.hit(k) for o in context) / len(context) for k in (1, 3))
    wrongly = sum(o.abstained for o in context) / len(context)
    assert hit1 >= 0.66 and hit3 >= 0.79, (hit1, hit3, _misses(dev_context_report, 1))
    assert wrongly <= 0.07, [o.case.question for o in context if o.abstained]


def test_other_senses_and_absent_terms_in_the_context_set_abstain(dev_context_report):
    rate = {k: sum(o.abstained for o in v) / len(v) for k in ("oos-offtopic", "oos-missing")
            for v in [[o for o in dev_context_report.outcomes if o.case.category == k]]}
    assert rate["oos-offtopic"] >= 0.73 and rate["oos-missing"] >= 0.44, rate


# tests/data/eval_dev_taiwan.jsonl (140, written blind on 2026-11-30 from the entries' names, aliases and first English
# paragraph): questions in Taiwan's script and vocabulary (網路, 批次, 正規化, 資料, 預設 …), 20 of them out of scope.
# Written to check the corpus's Taiwan names (written by another helper from the same list); a dev set since (2026-11-30,
# before / after those names: hit@1 0.917 / 0.942, hit@3 0.925 / 0.967, wrongly abstained 0.050 / 0.025, out of scope
# abstained 0.90 / 0.85). Floors a few points below.
def test_questions_in_taiwan_vocabulary_find_their_terms(retriever):
    report = evaluate(retriever, load_cases(DATA / "eval_dev_taiwan.jsonl"))
    overall, abstention = report.summary["overall"], report.summary["abstention"]
    assert overall["hit@1"] >= 0.90 and overall["hit@3"] >= 0.93, (overall, _misses(report, 1))
    assert abstention["in_scope_wrongly_abstained"] <= 0.05, abstention
    assert abstention["oos_abstained"] >= 0.75, abstention


# -- blind-holdout floors ----------------------------------------------------------------------------------
# tests/data/eval_holdout.jsonl (498 questions) was written by someone who saw no tuning run, and nothing was
# chosen on it. Measured once, as it fell, on 2026-11-30 (glossarian tune --holdout): hit@1 0.855, hit@3 0.946,
# descriptive hit@3 0.939, out-of-scope abstained 0.667, in-scope wrongly abstained 0.027.
# tests/data/eval_holdout3.jsonl (431 questions: 169 descriptive, 45 context, 34 Traditional Chinese, 55 about real
# terms the glossary lacks, 34 off-topic, ...) was written later that day by someone who read only the entries' names
# and definitions (not their `asks` lines, the other evaluation sets or any tuning run). Measured as it fell, before
# and after the missing-term check of that day: hit@1 0.813 / 0.804, hit@3 0.909 / 0.898, out-of-scope abstained
# 0.652 / 0.730, in-scope wrongly abstained 0.035 / 0.050. Measured again, as they fell, after the checks of the
# next session (another field's sense, Chinese names, the lead of a named abbreviation): holdout 3 hit@1 0.816, hit@3
# 0.886, out-of-scope abstained 0.775, wrongly abstained 0.059; holdout v2 0.851 / 0.944 / 0.856 / 0.029.
# tests/data/eval_holdout4.jsonl (436 questions: 146 descriptive, 55 context, 40 Traditional Chinese, 55 about real
# terms the glossary lacks, 50 off-topic, ...) was written on 2026-11-30 by a helper who read only the entries' names,
# aliases and one-line definitions (no `asks` line, no source, no other evaluation set, no tuning run). 4 of its 440
# questions happened to match `asks` lines (one word for word) and were dropped by the near-duplicate rule below.
# Measured as it fell on the code before and after the previous session's retrieval changes: hit@1 0.804 / 0.813,
# hit@3 0.891 / 0.900, out-of-scope abstained 0.762 / 0.771, in-scope wrongly abstained 0.057 / 0.054.
# Measured again, as they fell, after the Taiwan names, framings and missing-compound changes of the last session of
# 2026-11-30: holdout 4 0.807 / 0.897 / 0.771 / 0.057, holdout 3 0.816 / 0.892 / 0.787 / 0.059, holdout v2 0.853 /
# 0.949 / 0.867 / 0.029 (hit@1 / hit@3 / out-of-scope abstained / wrongly abstained).
# Nothing is chosen on any of them. The floors sit a few points below, so a holdout can fail a change that hurts
# unseen questions but is never tuned against.
HOLDOUT_FLOORS = {  # file: (hit@1 >=, hit@3 >=, out-of-scope abstained >=, in-scope wrongly abstained <=)
    "eval_holdout.jsonl": (0.82, 0.92, 0.80, 0.05),
    "eval_holdout3.jsonl": (0.78, 0.86, 0.73, 0.08),
    "eval_holdout4.jsonl": (0.78, 0.87, 0.73, 0.08),
}


@pytest.fixture(scope="module")
def holdout_reports(retriever):
    return {name: evaluate(retriever, load_cases(DATA / name)) for name in HOLDOUT_FLOORS}


@pytest.mark.parametrize("name", HOLDOUT_FLOORS)
def test_holdout_hit_at_1_and_3(holdout_reports, name):
    report, (hit1, hit3, _, _) = holdout_reports[name], HOLDOUT_FLOORS[name]
    overall = report.summary["overall"]
    assert overall["hit@1"] >= hit1 and overall["hit@3"] >= hit3, f"{overall}\n{_misses(report, 3)}"


def test_holdout_descriptive_questions_find_what_they_describe(holdout_reports):
    descriptive = [o for o in holdout_reports["eval_holdout.jsonl"].outcomes if o.case.category == "descriptive"]
    rate = sum(o.hit(3) for o in descriptive) / len(descriptive)
    assert len(descriptive) >= 200 and rate >= 0.91, f"descriptive hit@3 = {rate:.3f}"


@pytest.mark.parametrize("name", HOLDOUT_FLOORS)
def test_holdout_abstention(holdout_reports, name):
    abstention, (_, _, oos, wrongly) = holdout_reports[name].summary["abstention"], HOLDOUT_FLOORS[name]
    assert abstention["oos_abstained"] >= oos, abstention
    assert abstention["in_scope_wrongly_abstained"] <= wrongly, abstention


@pytest.mark.parametrize("question, subject", [
    # a model named by its abbreviation while the question describes something else: that else is the subject
    ("how does GPT keep its generation cost low by reusing the keys and values it already computed", "kv-cache"),
    ("why does YOLO output several overlapping detections of one object unless you post-process them",
     "non-maximum-suppression"),
    # a short question about the term it names stays about that term, however the embedding ranks its neighbours
    ("Why do we need label smoothing?", "label-smoothing"),
    ("训练时 BN 的均值怎么算", "batch-normalization"),
    ("GAP 为什么能减少参数", "global-average-pooling"),
])
def test_a_named_term_leads_only_when_the_question_says_little_else(retriever, question, subject):
    """Written for this test, not taken from an evaluation set (retrieval.FEW_OTHER_WORDS)."""
    r = retriever.search(question)
    assert not r.abstained and r.hits[0].entry.id == subject, [h.entry.id for h in r.hits]


def test_taiwan_words_name_their_entries(retriever):
    """殘差網路 is Taiwan's 残差网络 (character conversion alone gives 残差网路): the names are looked up in the mainland
    form too, so the question names ResNet and the CNN like its Simplified twin does."""
    r = retriever.search("殘差網路和卷積神經網路是什麼關係")
    assert {"resnet", "convolutional-neural-network"} <= set(r.named_in_question), r.named_in_question
    assert not r.abstained and "resnet" in [h.entry.id for h in r.hits][:3]


def _taiwan_names() -> list[tuple[str, str]]:
    """(entry id, name) for every alias the shipped corpus writes in Traditional characters: Taiwan's names."""
    import yaml

    out = []
    for path in sorted(CORPUS.glob("*.md")):
        meta = yaml.safe_load(path.read_text("utf-8").split("---")[1])
        out += [(meta["id"], a) for a in meta.get("aliases") or [] if is_traditional(str(a))]
    return out


def test_a_term_asked_by_its_taiwan_name_is_answered_with_its_entry(retriever):
    """批次正規化 is Taiwan's Batch Normalization; character conversion alone gives 批次正规化, which no mainland name
    is (and 批次 alone is a mini-batch). Every Taiwan name the corpus lists, asked the way a Taiwan reader asks."""
    names = _taiwan_names()
    assert len(names) >= 100 and ("batch-normalization", "批次正規化") in names
    wrong = []
    for entry_id, name in names:
        for question in (f"{name}是什麼？", f"請問{name}是什麼意思"):
            r = retriever.search(question)
            got = "abstained" if r.abstained else r.hits[0].entry.id
            if got != entry_id:
                wrong.append(f"{question} -> {got} (expected {entry_id})")
    assert not wrong, wrong


def test_every_entry_asked_politely_by_its_name_is_answered_with_that_entry(retriever, index_data):
    """An opening like 请问 / 想问一下, or a name with "of" in it, is no part of the subject: "请问层归一化是什么意思" once
    abstained on a term "请问层", "What does Mixture of Experts mean?" on a term "Mixture"."""
    wrong = []
    for e in index_data.entries:
        for question in (f"请问{e.term_zh}是什么意思", f"想问一下{e.term_zh}是什么", f"What does {e.term_en} mean?"):
            r = retriever.search(question)
            got = "abstained" if r.abstained else r.hits[0].entry.id
            if got != e.id:
                wrong.append(f"{question} -> {got} (missing: {r.missing})")
    assert not wrong, wrong


@pytest.mark.parametrize("question, subject", [
    # the rest, the name cut out, asks nothing of the glossary: the one named entry is what is asked about
    ("面试被问到卷积，我该怎么用自己的话讲清楚它的原理和用途", "convolution"),
    ("I keep seeing Transformer in papers I read for my project, what does it actually do?", "transformer"),
    ("Reading a blog post about the Transformer, what is it in a nutshell?", "transformer"),
    # the rest describes another entry: that entry, not the model named in passing
    ("GPT 生成的时候是怎么复用之前已经算过的 key 和 value 来省计算的", "kv-cache"),
])
def test_a_long_question_naming_one_term_is_about_it_unless_the_rest_asks_about_something_else(retriever, question,
                                                                                                 subject):
    """Written for this test, not taken from an evaluation set (Features.named_rest)."""
    r = retriever.search(question)
    assert not r.abstained and r.hits[0].entry.id == subject, [h.entry.id for h in r.hits]

