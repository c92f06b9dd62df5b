"""Answers that answer the question asked, on a small corpus of v2 entries (facets) through the real Assistant:
one test per intent in both languages, three-turn follow-up chains, no repeats, the compare table, and
conversation state from structured turns (with the text-only fallback)."""
from __future__ import annotations

import re
import shutil

import pytest

from helpers import CORPUS, DATA, settings_for
from glossarian.assistant import Assistant, Turn

V2 = DATA / "v2"
OLD_FORMAT = ("backbone", "neck", "head", "softmax", "knowledge-distillation", "fully-connected-layer")


@pytest.fixture(scope="module")
def assistant(embedder, tmp_path_factory) -> Assistant:
    from glossarian.index import build_index

    corpus = tmp_path_factory.mktemp("v2-corpus")
    for path in V2.glob("*.md"):
        shutil.copy(path, corpus / path.name)
    for entry_id in OLD_FORMAT:  # backbone is v2 in the shipped corpus; the rest are still one body each
        shutil.copy(CORPUS / f"{entry_id}.md", corpus / f"{entry_id}.md")
    index = tmp_path_factory.mktemp("v2-index")
    settings = settings_for(corpus, index).with_(llm_base_url="", llm_model="")
    build_index(settings, embedder)
    return Assistant(settings)


def chat(assistant: Assistant, *questions: str):
    """Ask in turn, carrying the structured history as the web UI does; returns every answer."""
    history, answers = [], []
    for q in questions:
        a = assistant.ask(q, history)
        answers.append(a)
        history += [Turn("user", q), Turn.of_answer(a)]
    return answers


def ids(answer) -> list[str]:
    return [h.entry.id for h in answer.sources]


def section(answer, n: int = 0) -> str:
    return answer.to_json()["sources"][n]["section"]


def facet(assistant, entry_id: str, lang: str, key: str) -> str:
    entry = next(e for e in assistant.retriever().index.entries if e.id == entry_id)
    return entry.facet(lang, key)


def first_sentence(text: str) -> str:
    return re.split(r"(?<=[。！？])|(?<=[.!?])\s", text.strip())[0].strip()


# ---------------------------------------------------------------- one intent at a time, both languages

FACET_QUESTIONS = [
    ("why", "zh", "为什么要用 warmup？", "warmup"),
    ("why", "en", "Why is warm-up needed?", "warmup"),
    ("how", "zh", "层归一化的原理是什么", "layer-normalization"),
    ("how", "en", "How does layer normalization work?", "layer-normalization"),
    ("example", "zh", "给个最大池化的例子", "max-pooling"),
    ("example", "en", "Give me an example of max pooling", "max-pooling"),
    ("values", "zh", "批归一化的 momentum 一般设多少", "batch-normalization"),
    ("values", "en", "What are typical values for softmax temperature?", "temperature"),
    ("when", "zh", "什么时候该用全局平均池化", "global-average-pooling"),
    ("when", "en", "When should I use layer normalization?", "layer-normalization"),
]


@pytest.mark.parametrize("kind, lang, question, entry_id", FACET_QUESTIONS)
def test_a_facet_question_leads_with_that_facet(assistant, kind, lang, question, entry_id):
    a = assistant.ask(question)
    assert a.intent == kind and a.language == lang and ids(a)[0] == entry_id
    assert section(a) == kind
    text = facet(assistant, entry_id, lang, kind)
    opening = a.answer.split("\n\n", 2)
    assert first_sentence(re.sub(r"```.*?```", "", text, flags=re.S)) in a.answer
    assert opening[0].startswith("**") and "[1]" in opening[0], "a heading naming the entry and the facet"
    # The definition is not pasted in front of what was asked.
    definition = assistant.retriever().index.entries[assistant.retriever().index.by_id[entry_id]].definition(lang)
    assert first_sentence(definition) not in a.answer


@pytest.mark.parametrize("question, lang", [("什么是热身？", "zh"), ("What is warm-up?", "en")])
def test_a_definition_question_gives_the_definition_and_offers_the_facets(assistant, question, lang):
    a = assistant.ask(question)
    assert a.intent == "define" and ids(a) == ["warmup"] and section(a) == "definition"
    assert first_sentence(facet(assistant, "warmup", lang, "why")) not in a.answer
    assert ("术语表里还有它的：为什么" if lang == "zh" else "The glossary also has: Why") in a.answer


@pytest.mark.parametrize("question, lang, lead", [
    ("训练刚开始时先用很小的学习率、再慢慢升到目标值的做法叫什么", "zh", "这叫 **热身（Warm-up）** [1]"),
    ("what's the term for starting training with a tiny learning rate and ramping it up?", "en",
     "This is called **Warm-up (热身)** [1]"),
])
def test_a_name_seeking_question_opens_with_the_name(assistant, question, lead, lang):
    a = assistant.ask(question)
    assert a.intent == "name" and a.answer.startswith(lead) and a.language == lang


@pytest.mark.parametrize("question, lang, says", [
    ("温度系数设得很大会怎样？", "zh", "越平滑"),
    ("What happens when the temperature is very large?", "en", "approaching uniform"),
])
def test_a_limit_case_quotes_what_the_entry_says_of_large_and_small_settings(assistant, question, lang, says):
    a = assistant.ask(question)
    assert a.intent == "limit" and ids(a) == ["temperature"] and says in a.answer
    assert a.answer.count("[1]") >= 2


@pytest.mark.parametrize("question, lang, value", [
    ("算一下 [1,2,3] 在温度 0.5 下的 softmax", "zh", "0.8668"),
    ("compute the softmax of [1, 2, 3] at temperature 2", "en", "0.5065"),
])
def test_a_computation_leads_with_the_number(assistant, question, lang, value):
    a = assistant.ask(question)
    assert a.intent == "compute" and [t.name for t in a.tool_calls] == ["softmax_temperature"]
    assert value in a.answer.split("\n\n")[0], "the result comes first"
    assert set(ids(a)) & {"temperature", "softmax"} and a.language == lang


@pytest.mark.parametrize("question, lang", [("sigmoid(0.5) 是多少", "zh"), ("what is softmax(0.5) of nothing", "en")])
def test_a_computation_no_tool_can_run_says_so_in_the_questions_language(assistant, question, lang):
    a = assistant.ask(question)
    if a.tool_calls:
        pytest.skip("a tool ran this one")
    if lang == "zh":
        assert "没有对应的演示工具" in a.answer or "计算没有运行" in a.answer or a.abstained
    else:
        assert not re.search(r"[\u4e00-\u9fff]{4}", re.sub(r"[（(][^)）]*[)）]", "", a.answer))


# ---------------------------------------------------------------- comparisons


@pytest.mark.parametrize("question, lang", [("BatchNorm 和 LayerNorm 有什么区别，什么时候用哪个？", "zh"),
                                            ("BatchNorm vs LayerNorm, when should I use which?", "en")])
def test_compare_builds_a_table_then_says_when_to_use_which(assistant, question, lang):
    a = assistant.ask(question)
    assert a.intent == "compare" and ids(a) == ["batch-normalization", "layer-normalization"]
    rows = [line for line in a.answer.splitlines() if line.startswith("|")]
    assert len(rows) >= 4 and all(r.count("|") == 4 for r in rows), "aspect | BN | LN"
    assert ("为什么用" if lang == "zh" else "Why use it") in a.answer
    advice = a.answer.split("怎么选" if lang == "zh" else "Which to use")[1]
    assert first_sentence(facet(assistant, "batch-normalization", lang, "when")) in advice
    assert first_sentence(facet(assistant, "layer-normalization", lang, "when")) in advice
    assert "[1]" in advice and "[2]" in advice
    assert {s["section"].split(",")[0] for s in a.to_json()["sources"]} == {"definition"}
    assert "when" in section(a) and "when" in section(a, 1)


def test_relation_lines_never_open_with_a_dangling_pronoun(assistant):
    for q in ("全局平均池化和最大池化有什么区别", "How does global average pooling differ from max pooling?"):
        a = assistant.ask(q)
        for line in a.answer.splitlines():
            assert not re.match(r"- (它|其|It\b|This\b|They\b)", line), line


# ---------------------------------------------------------------- follow-ups


def assert_distinct_and_on_subject(answers, subject: str):
    for n, a in enumerate(answers):
        assert ids(a) and ids(a)[0] == subject, (n, a.answer)
        for earlier in answers[:n]:
            assert a.answer != earlier.answer
            assert a.answer.split("\n\n")[0] != earlier.answer.split("\n\n")[0], "each opens with something new"


@pytest.mark.parametrize("lang, questions", [
    ("zh", ["为什么需要 warmup？", "举个例子", "一般设多少步？"]),
    ("en", ["Why do we need warm-up?", "give me an example", "what are typical values?"]),
])
def test_why_then_example_then_values_stays_on_the_subject_and_adds_something(assistant, lang, questions):
    answers = chat(assistant, *questions)
    assert [a.intent for a in answers] == ["why", "example", "values"]
    assert [section(a) for a in answers] == ["why", "example", "values"]
    assert_distinct_and_on_subject(answers, "warmup")
    for a, key in zip(answers, ("why", "example", "values")):
        assert first_sentence(re.sub(r"```.*?```", "", facet(assistant, "warmup", lang, key), flags=re.S)) in a.answer


@pytest.mark.parametrize("lang, questions", [
    ("zh", ["什么是全局平均池化？", "它和最大池化有什么区别？", "那算一下 2x64x7x7 的输入"]),
    ("en", ["What is GAP?", "how does it differ from max pooling?", "compute it for a 2x64x7x7 tensor"]),
])
def test_define_then_compare_then_compute(assistant, lang, questions):
    answers = chat(assistant, *questions)
    assert [a.intent for a in answers] == ["define", "compare", "compute"]
    assert ids(answers[1]) == ["global-average-pooling", "max-pooling"]
    assert [t.name for t in answers[2].tool_calls] == ["pooling"]  # the pooling calculator (GAP is its default)
    assert "(2, 64, 1, 1)" in answers[2].answer
    assert all(a.language == lang for a in answers)
    for n, a in enumerate(answers):
        assert all(a.answer != b.answer for b in answers[:n])
    assert ids(answers[0])[0] == "global-average-pooling" and ids(answers[1])[0] == "global-average-pooling"


@pytest.mark.parametrize("lang, questions, says", [
    ("zh", ["为什么要用 warmup？", "为什么需要它？"], "前面已经给出了热身（Warm-up）的原因"),
    ("en", ["Why is warm-up needed?", "but why does it help?"], "was given above"),
])
def test_asking_for_the_same_facet_again_says_so_instead_of_repeating(assistant, lang, questions, says):
    first, second = chat(assistant, *questions)
    assert says in second.answer and len(second.answer) < len(first.answer)
    assert second.answer.count("\n\n") <= 1, "one line, then what else there is"


@pytest.mark.parametrize("lang, questions, says", [
    ("zh", ["什么是 backbone？", "一般设多少？"], "术语表里关于骨干网络（Backbone）的常用取值没有更多内容"),
    ("en", ["What is a backbone?", "typical values?"], "The glossary has nothing on typical values for Backbone"),
])
def test_a_facet_the_entry_lacks_is_named_as_missing_and_the_rest_offered(assistant, lang, questions, says):
    first, second = chat(assistant, *questions)
    assert second.answer.startswith(says) and ids(second) == ["backbone"]
    assert ("术语表里还有它的" if lang == "zh" else "The glossary also has") in second.answer


def test_a_computation_carries_over_to_a_new_temperature(assistant):
    a1, a2 = chat(assistant, "算一下 [1,2,3] 在温度 0.5 下的 softmax", "换成 T=5 呢?")
    assert [t.name for t in a2.tool_calls] == ["softmax_temperature"]
    assert a2.tool_calls[0].arguments["logits"] == [1.0, 2.0, 3.0]
    assert a2.tool_calls[0].arguments["temperatures"] == [5.0]
    assert "0.4018" in a2.answer and a2.answer != a1.answer


def test_follow_ups_work_from_text_alone_when_a_client_sends_no_structured_fields(assistant):
    first = assistant.ask("What is warm-up?")
    history = [Turn("user", "What is warm-up?"), Turn("assistant", first.answer)]
    second = assistant.ask("why is it needed?", history)
    assert ids(second) == ["warmup"] and second.intent == "why" and section(second) == "why"


def test_structured_sources_win_over_the_answers_wording(assistant):
    """The subject comes from the turn's sources even when its text names other terms first."""
    history = [Turn("user", "tell me something"),
               Turn("assistant", "**Batch Normalization** vs Layer Normalization ...", sources=("max-pooling",),
                    intent="define")]
    a = assistant.ask("give me an example", history)
    assert ids(a) == ["max-pooling"] and a.intent == "example"


def test_turns_round_trip_through_dicts_and_reject_bad_fields():
    turn = Turn("assistant", "x", sources=("warmup",), intent="why", tool={"name": "t", "arguments": {"a": 1}})
    assert Turn.from_dict(turn.to_dict()) == turn
    odd = Turn.from_dict({"role": "assistant", "content": "x", "sources": [{"id": "warmup"}, 3], "intent": "hack",
                          "tool": "rm -rf"})
    assert odd.sources == ("warmup",) and odd.intent == "" and odd.tool is None


# ---------------------------------------------------------------- the HTTP API and the LLM backend


def test_the_api_carries_intent_sections_missing_terms_and_structured_history(assistant):
    import httpx

    from glossarian.web import create_app
    from helpers import running

    with running(create_app(assistant.settings.with_(rate_limit=0), assistant)) as url:
        first = httpx.post(f"{url}/api/ask", json={"question": "Why is warm-up needed?"}, timeout=60).json()
        assert first["intent"] == "why" and first["missing_term"] is None
        assert first["sources"][0]["id"] == "warmup" and first["sources"][0]["section"] == "why"
        echoed = {"role": "assistant", "content": first["answer"], "sources": first["sources"],
                  "intent": first["intent"]}
        second = httpx.post(f"{url}/api/ask", json={"question": "give me an example", "history": [
            {"role": "user", "content": "Why is warm-up needed?"}, echoed]}, timeout=60).json()
        assert second["sources"][0]["id"] == "warmup" and second["sources"][0]["section"] == "example"
        missing = httpx.post(f"{url}/api/ask", json={"question": "What is PagedAttention?"}, timeout=60).json()
        assert missing["missing_term"] == "PagedAttention" and missing["sources"] == []


@pytest.fixture(scope="module")
def llm_server():
    from fake_openai_server import FakeOpenAI

    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


def test_the_llm_prompt_carries_the_facet_the_intent_needs(assistant, llm_server):
    from fake_openai_server import text

    llm_server.reset()
    llm_server.script(text("Warm-up is needed because early gradients are erratic [1]."))
    s = assistant.settings.with_(llm_base_url=llm_server.url, llm_model="fake-model")
    a = Assistant(s).ask("Why is warm-up needed?")
    assert a.answer == "Warm-up is needed because early gradients are erratic [1]." and a.intent == "why"
    assert a.to_json()["sources"][0] == {**a.to_json()["sources"][0], "id": "warmup", "section": "definition,why"}
    user = llm_server.requests[0]["messages"][1]["content"]
    assert facet(assistant, "warmup", "en", "why") in user and "the reason (why)" in user
    assert facet(assistant, "warmup", "en", "values") not in user, "only the facets this intent needs"


def test_a_tool_the_llm_calls_that_refuses_reaches_the_user(assistant, llm_server):
    from fake_openai_server import text, tool_call

    llm_server.reset()
    # A question the router does not read as a computation (one it does runs the calculator before the model is
    # asked: test_llm_guard.py), so the model makes the call itself.
    llm_server.script(tool_call("softmax_temperature", '{"logits": [1, 2, 3], "temperatures": [-1]}'),
                      text("Softmax 的温度必须为正数 [1]。"))
    s = assistant.settings.with_(llm_base_url=llm_server.url, llm_model="fake-model")
    a = Assistant(s).ask("softmax 的温度可以设成负数吗？")
    assert a.tool_calls == [] and [n for n, _ in a.tool_errors] == ["softmax_temperature"]
    assert a.notice.startswith("计算没有运行（softmax_temperature）") and "temperatures[0] = -1" in a.notice
    assert a.to_json()["tool_errors"][0]["name"] == "softmax_temperature"


def test_a_too_long_chinese_question_is_refused_in_chinese(assistant):
    from glossarian.errors import InputError

    with pytest.raises(InputError) as err:
        assistant.ask("请解释一下什么是骨干网络，" * 300)
    assert err.value.message.startswith("问题有") and "上限" in err.value.message
