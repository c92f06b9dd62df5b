"""Tests for the LLM answer backend (glossarian.answer.llm): the real openai client against a real local HTTP server with scripted replies."""
import json
import logging
import math
import socket
import time

import pytest
from fake_openai_server import FakeOpenAI, fake, http_error, pinging, raw, server, slow, text, then_raw, tool_call  # noqa: F401

from glossarian.assistant import Turn
from glossarian.config import REPO_ROOT, Settings
from glossarian.corpus import load_corpus
from glossarian.answer.events import Citation, Notice, Request, Text, ToolFailed, ToolRan
from glossarian.answer.llm import LLMBackend, LLMOverrun, LLMUnavailable
from glossarian.retrieval import Hit


@pytest.fixture
def backend(fake) -> LLMBackend:
    return LLMBackend(fake.url, "", "fake-model", timeout=5)


@pytest.fixture(scope="module")
def hits() -> list[Hit]:
    """Real glossary entries, as retrieval would hand them over for a question about softmax temperature."""
    entries = load_corpus(REPO_ROOT / "corpus").by_id()
    return [Hit(entries[i], score=0.9, lexical=1.0, named=True) for i in ("softmax", "temperature")]


def ask(backend, question: str, language: str, hits: list, history: list, use_tools: bool = True):
    request = Request(question=question, language=language, intent="define", subjects=hits[:1], hits=hits,
                      entries={}, history=history)
    return backend.answer(request, use_tools=use_tools)


KINDS = {"text": (Text,), "tool": (ToolRan, ToolFailed), "notice": (Notice,), "citation": (Citation,)}


def collect(events) -> tuple[str, list]:
    events = list(events)
    assert all(isinstance(e, (Text, Citation, ToolRan, ToolFailed, Notice)) for e in events)
    return "".join(e.text for e in events if isinstance(e, Text)), events


def of_kind(events: list, kind: str) -> list:
    return [e for e in events if isinstance(e, KINDS[kind])]


# ---------------------------------------------------------------- grounded answers


def test_streams_a_grounded_answer_with_valid_citations(fake, backend, hits):
    fake.script(text("Softmax turns logits into probabilities [", "1]; the temperature T divides ",
                     "the logits first [1, 2]."))
    answer, events = collect(ask(backend, "How does temperature change softmax?", "en", hits, []))

    assert answer == "Softmax turns logits into probabilities [1]; the temperature T divides the logits first [1, 2]."
    assert len(of_kind(events, "text")) >= 2, "the answer arrives in pieces, not at the end"
    assert not of_kind(events, "notice")
    (request,) = fake.requests
    assert request["model"] == "fake-model" and request["stream"] is True
    system, user = request["messages"]
    assert system["role"] == "system" and "Answer in English" in system["content"]
    assert "[1], [2]" in system["content"], "the model is told which citation numbers exist"
    assert "[1] Softmax函数 / Softmax\n中文：Softmax 函数" in user["content"]
    assert "[2] " + hits[1].entry.term_zh in user["content"] and hits[1].entry.en[:60] in user["content"]
    assert user["content"].endswith("Question: How does temperature change softmax?")
    assert "softmax_temperature" in [t["function"]["name"] for t in request["tools"]]
    assert request["_headers"]["authorization"] == "Bearer not-needed"


def test_a_chinese_question_asks_for_a_chinese_answer(fake, backend, hits):
    fake.script(text("Softmax 把 logits 变成概率分布 [1]。"))
    answer, _ = collect(ask(backend, "softmax 是什么？", "zh", hits[:1], [], use_tools=False))

    assert answer == "Softmax 把 logits 变成概率分布 [1]。"
    system, user = fake.requests[0]["messages"]
    assert "用简体中文回答" in system["content"]
    assert user["content"].startswith("术语表条目：\n[1] Softmax函数") and user["content"].endswith("问题：softmax 是什么？")
    assert "tools" not in fake.requests[0], "use_tools=False offers no tools"


def test_recent_conversation_is_in_the_prompt_without_its_old_citations(fake, backend, hits):
    history = [Turn("user", f"old question {i}") for i in range(5)] + [
        Turn("user", "What is softmax?"), Turn("assistant", "Softmax normalizes logits [1]."),
    ]
    fake.script(text("It is divided by T first [2]."))
    collect(ask(backend, "And with a temperature?", "en", hits, history))

    user = fake.requests[0]["messages"][1]["content"]
    assert "User: What is softmax?\nAssistant: Softmax normalizes logits.\n" in user
    assert "old question 4" in user and "old question 0" not in user, "only the last few turns"


def test_invalid_citations_are_removed_with_a_notice(fake, backend, hits, caplog):
    fake.script(text("Softmax normalizes logits [1][7]. Temperature scales them [2, 7", "]; see also [", "12]."))
    with caplog.at_level(logging.WARNING, logger="glossarian"):
        answer, events = collect(ask(backend, "What is softmax?", "en", hits, []))

    assert answer == "Softmax normalizes logits [1]. Temperature scales them [2]; see also."
    notices = [e.text for e in of_kind(events, "notice")]
    assert len(notices) == 2 and "[7]" in notices[0] and "[12]" in notices[1], "one notice per wrong number"
    (logged,) = [r.getMessage() for r in caplog.records if "cited" in r.getMessage()]
    assert "[7], [12]" in logged, "one log line per answer, naming each wrong number once"


def test_brackets_in_code_are_not_citations(fake, backend, hits):
    fake.script(text("The top class is `probs[", "0]` here [1]:\n```python\nx[9] = 0\n```"))
    answer, events = collect(ask(backend, "Show code", "en", hits, []))
    assert answer == "The top class is `probs[0]` here [1]:\n```python\nx[9] = 0\n```"
    assert not of_kind(events, "notice")


def test_reasoning_block_is_not_shown(fake, backend, hits):
    fake.script(text("<thi", "nk>The user wants [9]... let me recall.</th", "ink>\n\nSoftmax outputs sum to 1 [1]."))
    answer, events = collect(ask(backend, "What is softmax?", "en", hits, []))
    assert answer == "Softmax outputs sum to 1 [1]."
    assert not of_kind(events, "notice"), "citations inside the hidden reasoning are not reported"


def test_without_hits_the_model_is_told_the_glossary_has_nothing(fake, backend):
    fake.script(text("The glossary has no entry for this [1]."))
    answer, events = collect(ask(backend, "What is a transformer-XL?", "en", [], []))

    assert answer == "The glossary has no entry for this."
    assert len(of_kind(events, "notice")) == 1
    system, user = fake.requests[0]["messages"]
    assert "none, so cite nothing" in system["content"]
    assert "the glossary has no entry for this question" in user["content"]


# ---------------------------------------------------------------- tool calls


def test_tool_call_runs_and_its_result_goes_back_to_the_model(fake, backend, hits):
    fake.script(tool_call("softmax_temperature", '{"logits": [1, 2, 3], "temperatures": [0.5]}', pieces=4),
                text("At T=0.5 the largest logit gets 0.8668 of the probability [1]."))
    answer, events = collect(ask(backend, "Compute softmax of [1, 2, 3] at temperature 0.5", "en", hits, []))

    (event,) = of_kind(events, "tool")
    assert isinstance(event, ToolRan)
    result = event.result
    assert result.name == "softmax_temperature"
    assert result.arguments == {"logits": [1.0, 2.0, 3.0], "temperatures": [0.5]}
    expected = [math.exp(2 * z) / sum(math.exp(2 * v) for v in (1, 2, 3)) for z in (1, 2, 3)]
    assert result.values["rows"][0]["probabilities"] == pytest.approx(expected, abs=1e-4)
    assert answer == "At T=0.5 the largest logit gets 0.8668 of the probability [1]."

    first, second = fake.requests
    assert "tools" in first and "tools" in second
    assistant, tool = second["messages"][-2:]
    assert assistant["role"] == "assistant" and assistant["tool_calls"][0]["id"] == "call_1"
    assert assistant["tool_calls"][0]["function"] == {
        "name": "softmax_temperature", "arguments": '{"logits": [1, 2, 3], "temperatures": [0.5]}'}
    assert tool["role"] == "tool" and tool["tool_call_id"] == "call_1"
    sent = json.loads(tool["content"])
    assert sent["name"] == "softmax_temperature" and sent["values"] == result.values
    assert "0.8668" in tool["content"]


@pytest.mark.parametrize("name, arguments, says", [
    ("softmax_temperature", '{"logits": [1, 2, 3], "temperatures": [-1]}', "temperatures[0] = -1"),
    ("softmax_temperature", '{"logits": [1, 2, 3], "temp', "not valid JSON"),
    ("delete_everything", "{}", "Unknown tool 'delete_everything'"),
])
def test_a_refused_tool_call_is_reported_to_the_model(fake, backend, hits, name, arguments, says):
    fake.script(tool_call(name, arguments), text("That temperature is invalid; it must be positive."))
    answer, events = collect(ask(backend, "softmax at T=-1?", "en", hits, []))

    (event,) = of_kind(events, "tool")
    assert isinstance(event, ToolFailed) and says in event.message
    assert answer == "That temperature is invalid; it must be positive."
    tool = fake.requests[1]["messages"][-1]
    assert tool["role"] == "tool" and tool["content"].startswith("Error: ") and says in tool["content"]


def test_tool_rounds_are_capped(fake, backend, hits):
    call = tool_call("softmax_temperature", '{"logits": [1, 2, 3], "temperatures": [0.5]}')
    fake.script(call, call, call, text("Done [1]."))
    answer, events = collect(ask(backend, "Compute softmax again and again", "en", hits, []))

    assert answer == "Done [1]."
    assert len(of_kind(events, "tool")) == 3
    assert ["tools" in r for r in fake.requests] == [True, True, True, False], "the last request must answer"


def test_text_before_a_tool_call_is_kept_apart_from_the_answer(fake, backend, hits):
    reply = tool_call("softmax_temperature", '{"temperatures": [0.5]}')
    reply["deltas"].insert(0, {"content": "Let me compute that."})
    fake.script(reply, text("The top probability is 0.8668 [1]."))
    answer, _ = collect(ask(backend, "Compute softmax at T=0.5", "en", hits, []))
    assert answer == "Let me compute that.\n\nThe top probability is 0.8668 [1]."
    assert fake.requests[1]["messages"][-2]["content"] == "Let me compute that."


def test_a_server_without_tool_support_is_asked_again_without_tools(fake, hits):
    backend = LLMBackend(fake.url, "", "fake-model", timeout=5)
    fake.script(http_error(400, "registry.ollama.ai/library/gemma:2b does not support tools"), text("Softmax [1]."))
    answer, _ = collect(ask(backend, "What is softmax?", "en", hits, []))
    assert answer == "Softmax [1]."
    assert ["tools" in r for r in fake.requests] == [True, False]


# ---------------------------------------------------------------- failures


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


@pytest.mark.parametrize("reply, says", [
    (http_error(500, "CUDA out of memory"), "HTTP 500: CUDA out of memory"),
    (http_error(404, "model 'fake-model' not found"), "GLOSSARIAN_LLM_MODEL"),
    (raw(b"data: {this is not json\n\n"), "not a streamed chat completion"),
    (raw(b"\x00\xff<html>Bad gateway</html>"), "not a streamed chat completion"),
    (raw(b'{"choices": [{"message": {"content": "hi"}}]}', content_type="application/json"), "no streamed"),
    (raw(b"data: [DONE]\n\n"), "no streamed"),
    (raw(b'data: {"choices": []}\n\ndata: [DONE]\n\n'), "empty answer"),
    (text("<think>I could answer [1] but", " never finish"), "empty answer"),
], ids=["http-500", "http-404", "invalid-json", "binary", "json-not-sse", "only-done", "no-text-no-tool",
        "only-reasoning"])
def test_a_broken_reply_raises_llm_unavailable(fake, backend, hits, reply, says):
    fake.script(reply)
    with pytest.raises(LLMUnavailable) as caught:
        collect(ask(backend, "What is softmax?", "en", hits, []))
    message = str(caught.value)
    assert says in message and "\n" not in message and "Traceback" not in message
    assert caught.value.hint


def test_connection_refused_raises_llm_unavailable(hits):
    url = closed_port_url()
    with pytest.raises(LLMUnavailable) as caught:
        list(ask(LLMBackend(url, "", "fake-model", timeout=5), "What is softmax?", "en", hits, []))
    assert f"Cannot reach the LLM at {url}" in str(caught.value) and "\n" not in str(caught.value)


def test_a_slow_server_times_out(fake, hits):
    fake.script(slow(3, text("Too late [1].")))
    backend = LLMBackend(fake.url, "", "fake-model", timeout=1)
    started = time.monotonic()
    with pytest.raises(LLMOverrun, match="did not finish its answer within 1 s"):
        list(ask(backend, "What is softmax?", "en", hits, []))
    assert time.monotonic() - started < 2.5, "the user waits for the timeout, not for the server"


def test_a_server_that_only_sends_keep_alives_is_given_up_at_the_budget(fake, hits):
    # llama-cpp-python's server answers at once, then sends only ": ping" comments while it reads a long prompt
    # (150 s for 3,600 tokens on a loaded machine): no chunk arrives for the loop to look at the clock, and each
    # read returns before the client's timeout.
    fake.script(pinging(20, text("Too late [1].")))
    backend = LLMBackend(fake.url, "", "fake-model", timeout=1)
    started = time.monotonic()
    with pytest.raises(LLMOverrun, match="did not finish its answer within 1 s"):
        list(ask(backend, "What is softmax?", "en", hits, []))
    assert time.monotonic() - started < 10, "the user waits for the budget, not for the server"


def test_a_failure_midway_raises_after_the_text_so_far(fake, backend, hits):
    fake.script(then_raw(text("Softmax turns logits ", "into probabilities [1]"), b"data: {broken\n\n"))
    events = []
    with pytest.raises(LLMUnavailable, match="not a streamed chat completion"):
        for event in ask(backend, "What is softmax?", "en", hits, []):
            events.append(event)
    assert "".join(e.text for e in events if isinstance(e, Text)).startswith("Softmax turns logits")


# ---------------------------------------------------------------- configuration


def test_from_settings_needs_both_a_url_and_a_model(caplog):
    assert LLMBackend.from_settings(Settings()) is None
    with caplog.at_level(logging.WARNING, logger="glossarian"):
        assert LLMBackend.from_settings(Settings(llm_base_url="http://127.0.0.1:1/v1")) is None
    assert "GLOSSARIAN_LLM_MODEL is not set" in caplog.text
    backend = LLMBackend.from_settings(Settings(llm_base_url="http://127.0.0.1:1/v1", llm_model="qwen2.5",
                                                llm_api_key="sk-test", llm_timeout=7.5))
    assert (backend.base_url, backend.model, backend.timeout) == ("http://127.0.0.1:1/v1", "qwen2.5", 7.5)
    assert backend.client.api_key == "sk-test" and backend.client.max_retries == 0


def test_the_fake_server_also_answers_without_streaming(fake):
    """The fake serves plain JSON completions too, so it stays a faithful stand-in for a real server."""
    from openai import OpenAI

    fake.script(tool_call("softmax_temperature", '{"temperatures": [0.5]}'))
    client = OpenAI(base_url=fake.url, api_key="x", max_retries=0)
    reply = client.chat.completions.create(model="fake-model", messages=[{"role": "user", "content": "hi"}])
    (call,) = reply.choices[0].message.tool_calls
    assert (call.function.name, call.function.arguments) == ("softmax_temperature", '{"temperatures": [0.5]}')
