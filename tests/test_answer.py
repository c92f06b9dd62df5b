"""The answer engine through the real Assistant: language, citations, multi-term, contrast, follow-ups,
abstention, streaming, tool results, and the LLM path with its offline fallback."""
from __future__ import annotations

import re
import socket

import pytest

from helpers import CORPUS, settings_for
from fake_openai_server import FakeOpenAI, text
from glossarian.assistant import Assistant, Turn
from glossarian.errors import InputError

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def assistant(built_index) -> Assistant:
    return Assistant(settings_for(CORPUS, built_index))


def source_ids(answer) -> list[str]:
    return [h.entry.id for h in answer.sources]


def citations(answer) -> set[int]:
    return {int(n) for n in re.findall(r"\[(\d+)\]", answer.answer)}


def test_chinese_question_gets_a_chinese_definition_with_citation_and_related_terms(assistant):
    a = assistant.ask("什么是 backbone？")
    assert a.language == "zh" and source_ids(a) == ["backbone"]
    assert "[1]" in a.answer and "相关术语" in a.answer
    assert len(CJK.findall(a.answer)) > 50  # the Chinese section, not the English one


def test_english_question_gets_the_english_section(assistant):
    a = assistant.ask("What is global average pooling?")
    assert a.language == "en" and source_ids(a)[0] == "global-average-pooling"
    entry = assistant.retriever().index.entries[assistant.retriever().index.by_id["global-average-pooling"]]
    # A "what is" question gets the English definition (the code lives in the entry's example facet).
    assert entry.en.split(". ")[0] in a.answer and "Related terms" in a.answer
    prose = re.sub(r"\([^)]*\)", "", a.answer)  # Chinese terms in parentheses are fine
    assert len(CJK.findall(prose)) < 10


def test_two_terms_are_each_answered_in_the_order_asked(assistant):
    a = assistant.ask("backbone 和 head 分别是什么")
    assert source_ids(a) == ["backbone", "head"]
    assert a.answer.index("[1]") < a.answer.index("[2]")


def test_contrast_question_sets_both_entries_side_by_side(assistant):
    a = assistant.ask("How does domain adaptation differ from domain generalization?")
    assert source_ids(a) == ["domain-adaptation", "domain-generalization"]
    assert "vs." in a.answer and {1, 2} <= citations(a)


@pytest.mark.parametrize("question", [
    "什么是 backbone？", "pretext task和downstream task有啥区别", "What is BN?", "学习率和warmup是什么关系",
    "why does label smoothing help?", "算一下 [1,2,3] 在温度 0.5 下的 softmax", "NMS 和 IoU 分别是什么",
])
def test_every_citation_points_at_a_retrieved_source(assistant, question):
    a = assistant.ask(question)
    assert a.sources, question
    assert citations(a) and max(citations(a)) <= len(a.sources)
    retrieved = {h.entry.id for h in assistant.retriever().search(question, k=10).hits}
    assert set(source_ids(a)) <= retrieved


def test_follow_up_questions_resolve_to_the_previous_subject(assistant):
    first = assistant.ask("什么是 backbone?")
    history = [Turn("user", "什么是 backbone?"), Turn("assistant", first.answer)]
    second = assistant.ask("那它和 neck 有什么区别?", history)
    assert source_ids(second) == ["backbone", "neck"] and second.language == "zh"
    history += [Turn("user", "那它和 neck 有什么区别?"), Turn("assistant", second.answer)]
    third = assistant.ask("why is it pretrained?", history)
    assert source_ids(third)[0] == "backbone" and third.language == "en"


def test_out_of_scope_question_says_so_and_suggests_nothing_invented(assistant):
    a = assistant.ask("How do I center a div with CSS flexbox?")
    assert a.abstained and a.sources == [] and "[1]" not in a.answer
    assert "no entry" in a.answer


def test_chinese_out_of_scope_question_is_answered_in_chinese(assistant):
    a = assistant.ask("今天北京天气怎么样？")
    assert a.abstained and a.sources == [] and "术语表里没有" in a.answer


def test_answers_stream_incrementally(assistant):
    parts = list(assistant.stream("什么是 warmup？"))
    assert len(parts) > 2
    for before, after in zip(parts, parts[1:]):
        assert after.answer.startswith(before.answer)
    assert parts[-1].answer == assistant.ask("什么是 warmup？").answer


def test_computation_question_runs_the_tool_and_explains_with_the_glossary(assistant):
    a = assistant.ask("算一下 [1,2,3] 在温度 0.5 下的 softmax")
    assert [t.name for t in a.tool_calls] == ["softmax_temperature"]
    result = a.tool_calls[0]
    assert "0.8668" in a.answer and result.figure_png.startswith(b"\x89PNG")
    assert "temperature" in source_ids(a)
    assert a.to_json()["tool_calls"][0]["name"] == "softmax_temperature"


def test_missing_tool_arguments_are_assumed_and_the_answer_says_so(assistant):
    a = assistant.ask("show me a softmax temperature demo")
    assert a.tool_calls and "Not given in the question, so assumed: logits = [1, 2, 3]" in a.answer
    assert "0.0900" in a.answer  # the glossary's own [1, 2, 3] at T=1


def test_computation_answer_opens_with_the_number_in_the_question_language(assistant):
    a = assistant.ask("GAP 之后 (32, 2048, 7, 7) 变成什么形状")
    assert a.answer.startswith("全局平均池化之后，(32, 2048, 7, 7) 变成 (32, 2048, 1, 1)")
    a = assistant.ask("warmup 1000 steps to 3e-4 with 10000 total steps, what is the lr at step 500?")
    assert a.answer.startswith("The learning rate at step 500 is 1.5e-4.")


def test_a_computation_no_calculator_covers_gets_one_line_not_a_definition(assistant):
    a = assistant.ask("帮我算一下 ViT-B/16 在 224 输入下的 FLOPs")
    assert a.tool_calls == [] and a.sources == [] and "\n" not in a.answer and "没有对应的计算器" in a.answer


def test_f1_from_precision_and_recall_is_computed_number_first(assistant):
    a = assistant.ask("算一下 precision 0.8、recall 0.6 的 F1 是多少")
    assert [t.name for t in a.tool_calls] == ["f1_score"] and a.answer.startswith("F1 = 0.6857")


def test_absurd_tool_arguments_are_refused_in_the_answer_not_raised(assistant):
    a = assistant.ask("compute the softmax of [1, 2, 3] at temperature -1")
    assert a.tool_calls == [] and "did not run" in a.answer


def test_definition_question_runs_no_tool(assistant):
    assert assistant.ask("什么是 softmax 温度？").tool_calls == []


@pytest.mark.parametrize("bad", ["", "   ", "\x00\x01\x02", 12345, "x" * 5000])
def test_bad_questions_raise_a_clear_input_error(assistant, bad):
    with pytest.raises(InputError) as err:
        assistant.ask(bad)
    assert err.value.hint


# ---------------------------------------------------------------- with an LLM endpoint


@pytest.fixture(scope="module")
def llm_server():
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


def test_llm_answer_streams_with_sources_and_tools(built_index, llm_server):
    llm_server.reset()
    llm_server.script(text("Softmax 在温度为 0.5 时分布更尖锐 [1]，", "最大概率约 0.8668 [1]。"))
    s = settings_for(CORPUS, built_index).with_(llm_base_url=llm_server.url, llm_model="fake-model")
    a = Assistant(s).ask("温度 0.5 时 [1,2,3] 的 softmax 是多少？")
    # The calculator runs first (its numbers open the answer); the model explains after it.
    assert a.answer.endswith("Softmax 在温度为 0.5 时分布更尖锐 [1]，最大概率约 0.8668 [1]。") and a.notice == ""
    assert a.answer.index("0.8668") < a.answer.index("Softmax 在温度")
    assert [t.name for t in a.tool_calls] == ["softmax_temperature"] and a.sources


def test_llm_down_falls_back_to_the_offline_answer_with_a_notice(built_index):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    s = settings_for(CORPUS, built_index).with_(llm_base_url=f"http://127.0.0.1:{port}/v1", llm_model="m",
                                                llm_timeout=2.0)
    a = Assistant(s).ask("什么是 backbone？")
    assert source_ids(a) == ["backbone"] and "[1]" in a.answer
    assert "LLM" in a.notice and "127.0.0.1" not in a.notice


def test_a_comparison_compares_the_two_terms_it_names_even_when_a_neighbour_ranks_higher(assistant):
    # GroupNorm's text mentions both BatchNorm and LayerNorm, so it can outrank them; the question still
    # asked about those two, and the answer is their side-by-side table.
    a = assistant.ask("BatchNorm 和 LayerNorm 有什么区别？")
    assert source_ids(a)[:2] == ["batch-normalization", "layer-normalization"]
    assert "| --- |" in a.answer and "[1]" in a.answer and "[2]" in a.answer
