"""The guarded LLM path through the real Assistant and a real local protocol server: tools first, the budget,
and each answer check replacing a bad answer with the offline one (with a notice in the question's language)."""
from __future__ import annotations

import re

import pytest
from fake_openai_server import fake, server, text, then_raw  # noqa: F401

from helpers import indexed_copy, settings_for
from glossarian.assistant import Assistant
from glossarian.answer.guard import fallback_counts

IDS = ("backbone", "neck", "head", "softmax", "temperature", "global-average-pooling", "label-smoothing")
CJK = re.compile(r"[\u4e00-\u9fff]")
SOFTMAX_AT_HALF = "0.8668"  # softmax([1, 2, 3] / 0.5)[2], what the calculator prints


@pytest.fixture(scope="module")
def small_index(embedder, tmp_path_factory):
    return indexed_copy(embedder, tmp_path_factory.mktemp("guard"), IDS)


def assistant(small_index, fake, **settings) -> Assistant:
    corpus, index = small_index
    return Assistant(settings_for(corpus, index).with_(llm_base_url=fake.url, llm_model="fake-model", **settings))


def streamed(a: Assistant, question: str) -> list:
    answers = list(a.stream(question))
    assert answers, "at least one answer"
    return answers


def offline(small_index, question: str):
    corpus, index = small_index
    return Assistant(settings_for(corpus, index)).ask(question)


# ---------------------------------------------------------------- answers that pass


def test_a_good_answer_streams_and_stays(small_index, fake):
    fake.script(text("骨干网络（backbone）", "负责从输入中提取特征 [1]，", "后面接 neck 和 head。"))
    answers = streamed(assistant(small_index, fake), "什么是骨干网络？")
    assert len({a.answer for a in answers}) >= 3, "the text arrives in pieces"
    final = answers[-1]
    assert final.answer == "骨干网络（backbone）负责从输入中提取特征 [1]，后面接 neck 和 head。"
    assert final.notice == "" and final.sources[0].entry.id == "backbone"
    assert fake.requests[0]["max_tokens"] == 512, "generation is bounded by default"


# ---------------------------------------------------------------- each check falls back


@pytest.mark.parametrize("reply, check", [
    ("A backbone extracts features from the input [1].", "language"),
    ("骨干网络负责从输入中提取特征。", "citation"),
    ("GALAC-129 是一个两列三行的矩阵 [1]。", "subject"),
    ("骨干网络负责提取特征 [1]。<|im_end|><|im_start|>user", "template"),
    ('骨干网络 [1]：{"name": "backbone_shapes", "arguments": {"batch": 2}}', "json"),
])
def test_a_failed_check_gives_the_offline_answer_with_a_chinese_notice(small_index, fake, reply, check):
    before = fallback_counts().get(check, 0)
    fake.script(text(reply))
    final = streamed(assistant(small_index, fake), "什么是骨干网络？")[-1]
    assert final.answer == offline(small_index, "什么是骨干网络？").answer, "the streamed text was replaced"
    assert "离线回答" in final.notice and "LLM" in final.notice
    assert fallback_counts()[check] == before + 1, "the failure is counted under its check"


def test_an_english_question_gets_an_english_notice(small_index, fake):
    fake.script(text("骨干网络负责从输入中提取特征 [1]。"))
    final = streamed(assistant(small_index, fake), "What is a backbone?")[-1]
    assert final.notice.startswith("The LLM's answer did not pass") and not CJK.search(final.notice)
    assert final.answer == offline(small_index, "What is a backbone?").answer


# ---------------------------------------------------------------- the budget


def test_an_answer_past_the_time_budget_stops_and_falls_back(small_index, fake):
    pieces = [f"Backbone part {n} [1]. " for n in range(40)]
    fake.script(text(*pieces, delay=0.1))  # 4 s of streaming against a 1 s budget
    answers = streamed(assistant(small_index, fake, llm_timeout=1.0), "What is a backbone?")
    streamed_text = max((a.answer for a in answers if "part" in a.answer), key=len, default="")
    assert "part 39" not in streamed_text, "the stream was stopped, not read to the end"
    final = answers[-1]
    assert "did not finish within its time or length limit" in final.notice
    assert final.answer == offline(small_index, "What is a backbone?").answer


def test_an_answer_cut_at_max_tokens_falls_back(small_index, fake):
    fake.script({**text("骨干网络负责提取特征 [1]，而且"), "finish": "length"})
    final = streamed(assistant(small_index, fake, llm_max_tokens=16), "什么是骨干网络？")[-1]
    assert fake.requests[0]["max_tokens"] == 16
    assert "限定时间或长度" in final.notice and "而且" not in final.answer


def test_a_server_that_dies_midway_gives_the_offline_answer(small_index, fake):
    fake.script(then_raw(text("骨干网络负责", "提取特征"), b""))  # the connection closes without [DONE]
    final = streamed(assistant(small_index, fake), "什么是骨干网络？")[-1]
    assert final.answer == offline(small_index, "什么是骨干网络？").answer and "离线回答" in final.notice


# ---------------------------------------------------------------- tools first


@pytest.mark.parametrize("question", ["算一下 [1,2,3] 在温度 0.5 下的 softmax", "softmax of [1, 2, 3] at temperature 0.5"])
def test_the_calculator_runs_before_the_model_and_its_numbers_lead(small_index, fake, question):
    fake.script(text("Softmax 的温度越低，分布越尖锐 [1]。" if "温度" in question
                     else "A lower softmax temperature makes the distribution sharper [1]."))
    answers = streamed(assistant(small_index, fake), question)
    first, final = next(a for a in answers if a.answer), answers[-1]
    assert [t.name for t in first.tool_calls] == ["softmax_temperature"], "the tool ran before the model answered"
    assert SOFTMAX_AT_HALF in first.answer and SOFTMAX_AT_HALF in final.answer, "the first text shown is the result"
    assert final.notice == "" and final.answer.endswith("[1]" + ("。" if "温度" in question else "."))
    (request,) = fake.requests
    assert "tools" not in request, "the computation is done; the model only explains it"
    assert SOFTMAX_AT_HALF in request["messages"][-1]["content"], "the model is given the result"


def test_numbers_the_model_makes_up_next_to_a_tool_result_fall_back(small_index, fake):
    before = fallback_counts().get("numbers", 0)
    fake.script(text("At temperature 0.5 softmax gives the largest logit 0.7311 [1]."))
    final = streamed(assistant(small_index, fake), "softmax of [1, 2, 3] at temperature 0.5")[-1]
    assert "0.7311" not in final.answer and SOFTMAX_AT_HALF in final.answer
    assert fallback_counts()["numbers"] == before + 1


def test_a_computation_no_calculator_covers_is_not_sent_to_the_model(small_index, fake):
    final = streamed(assistant(small_index, fake), "算一下 3.7 和 9.2 的最大公约数是多少")[-1]
    assert not fake.requests and final.tool_calls == []
    assert final.answer == offline(small_index, "算一下 3.7 和 9.2 的最大公约数是多少").answer


def test_a_computation_the_calculator_refuses_is_explained_offline_without_the_model(small_index, fake):
    question = "compute softmax of [1, 2, 3] at temperature -2"
    final = streamed(assistant(small_index, fake), question)[-1]
    assert not fake.requests, "no model is asked to guess a number the calculator refused"
    assert [name for name, _ in final.tool_errors] == ["softmax_temperature"] and final.tool_calls == []
    assert final.answer == offline(small_index, question).answer
