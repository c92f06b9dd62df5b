"""Prompt text for the LLM backend: a system message of rules and a user message of numbered entries + question.

Each entry brings its definition and only the facets the question's intent needs (the why facet for a
"why" question, when + compare for a comparison), so the model answers what was asked, not the whole entry.

The recent conversation goes into the user message as quoted context rather than as earlier chat turns:
its citation numbers referred to other sources, and a model shown them as its own turns tends to reuse them.
"""
from __future__ import annotations

import re

HISTORY_TURNS = 6  # the last three exchanges
HISTORY_CHARS = 600  # per turn; enough to resolve "it" / "那它呢", not to re-answer
DEFINITION_CHARS = 1500  # per definition, per language

SYSTEM = {
    "en": """You are Glossarian, an assistant for a bilingual (Chinese/English) deep-learning glossary.
Rules:
1. Answer in English.
2. Answer only from the numbered glossary entries in the user's message. Do not add facts they do not contain.
3. Cite the entries you use as [1], [2] right after the sentence they support. Only these numbers exist: {numbers}.
4. If the entries do not answer the question, say plainly that the glossary has no entry for it. Do not answer from general knowledge.
5. Call a tool only when the user asks for a computation (e.g. "compute softmax of [1, 2, 3] at T=0.5"). Report a tool's numbers as computed results; they are not glossary entries, so do not cite them.
6. Be concise.""",
    "zh": """你是 Glossarian，一个中英双语深度学习术语表助手。
规则：
1. 用简体中文回答（术语可以保留英文原文）。
2. 只根据用户消息里编号的术语表条目回答，不要补充条目里没有的内容。
3. 在用到条目的句子后标注引用，如 [1]、[2]。只有这些编号：{numbers}。
4. 如果这些条目回答不了问题，就直接说明术语表里没有相关条目，不要凭常识作答。
5. 只有当用户要求计算时（例如"计算 [1, 2, 3] 在 T=0.5 时的 softmax"）才调用工具。工具结果是计算得到的数值，不是术语表条目，不要为它标注引用。
6. 回答简洁。""",
}

NO_ENTRIES = {
    "en": "(none: the glossary has no entry for this question)",
    "zh": "（无：术语表里没有与这个问题相关的条目）",
}
NO_NUMBERS = {"en": "none, so cite nothing", "zh": "无，不要标注任何引用"}

USER = {
    "en": "Glossary entries:\n{entries}\n\n{computed}{history}{asked}Question: {question}",
    "zh": "术语表条目：\n{entries}\n\n{computed}{history}{asked}问题：{question}",
}
# A calculator already ran for the question (answer/guard.py, tools first): the model explains the result, and its
# numbers are shown from the tool above the model's text, so the model is asked not to restate them.
COMPUTED_HEADER = {
    "en": "Already computed with a calculator (shown to the user above your answer; not a glossary entry, do not cite "
          "it, do not repeat or change its numbers):\n",
    "zh": "已经用计算器算出的结果（已显示在你的回答上方；它不是术语表条目，不要为它标注引用，不要重复或改动其中的数值）：\n",
}
COMPUTED_TASK = {
    "en": "Explain in two or three sentences what this result shows, using the glossary entries.\n\n",
    "zh": "请根据术语表条目，用两三句话解释这个结果说明了什么。\n\n",
}
ASKED = {  # one line telling the model what the question asks for, by intent
    "en": {"define": "a definition", "why": "the reason (why)", "how": "how it works", "example": "an example",
           "values": "typical values", "when": "when to use it", "compare": "a comparison: the differences, then when to use which",
           "name": "the name of the term described: start with the name", "limit": "what happens at very large or small settings",
           "compute": "a computation (use a tool)"},
    "zh": {"define": "定义", "why": "原因（为什么）", "how": "原理", "example": "例子", "values": "常用取值",
           "when": "何时使用", "compare": "比较：先列区别，再说各自何时使用", "name": "所描述术语的名称：先给出名称",
           "limit": "取值很大或很小时会怎样", "compute": "计算（使用工具）"},
}
# The facets each intent needs in the prompt, besides the definition.
FACETS_FOR = {"define": (), "name": (), "why": ("why",), "how": ("how",), "example": ("example",),
              "values": ("values",), "limit": ("values", "how"), "when": ("when", "compare"),
              "compare": ("compare", "when"), "compute": ("how", "example")}
ASKED_LINE = {"en": "What the question asks for: {asked}\n", "zh": "问题要的是：{asked}\n"}
HISTORY_HEADER = {
    "en": "Recent conversation (context only; its citation numbers referred to other entries):\n",
    "zh": "最近的对话（仅供理解上下文；其中的引用编号指向别的条目）：\n",
}
ROLE_NAMES = {"en": {"user": "User", "assistant": "Assistant"}, "zh": {"user": "用户", "assistant": "助手"}}
CITATION = re.compile(r"\s*\[\d+(?:\s*[,，、]\s*\d+)*\]")


def _clip(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def facets_for(entry, intent: str) -> tuple[str, ...]:
    """The facets of `entry` the prompt carries for this intent (those it has)."""
    have = set(entry.facet_keys("en")) | set(entry.facet_keys("zh"))
    return tuple(k for k in FACETS_FOR.get(intent, ()) if k in have)


def sections(entry, intent: str, language: str) -> str:
    """What the prompt gave the model of this entry, as a source's `section`."""
    return ",".join(("definition",) + facets_for(entry, intent))


def format_entries(hits: list, language: str, intent: str = "define") -> str:
    from glossarian.corpus import HEADING_OF

    if not hits:
        return NO_ENTRIES[language]
    blocks = []
    for n, hit in enumerate(hits, 1):
        e = hit.entry
        name = e.term_zh if e.term_zh == e.term_en else f"{e.term_zh} / {e.term_en}"
        parts = [f"[{n}] {name}", f"中文：{_clip(e.definition('zh'), DEFINITION_CHARS)}",
                 f"English: {_clip(e.definition('en'), DEFINITION_CHARS)}"]
        for key in facets_for(e, intent):
            for lang, tag in (("zh", "中文"), ("en", "English")):
                if e.facet(lang, key):
                    parts.append(f"{tag} · {HEADING_OF[lang][key]}：{_clip(e.facet(lang, key), DEFINITION_CHARS)}")
        blocks.append("\n".join(parts))
    return "\n\n".join(blocks)


def format_history(history: list, language: str) -> str:
    """The last turns (conversation.Turn) as quoted context, without their citation numbers."""
    lines = []
    for turn in list(history or [])[-HISTORY_TURNS:]:
        if turn.role not in ("user", "assistant") or not turn.content.strip():
            continue
        lines.append(f"{ROLE_NAMES[language][turn.role]}: {_clip(CITATION.sub('', turn.content), HISTORY_CHARS)}")
    return HISTORY_HEADER[language] + "\n".join(lines) + "\n\n" if lines else ""


def format_computed(results: list | None, language: str) -> str:
    """Tool results already run for the question: what each says, in the question's language."""
    lines = []
    for result in results or []:
        headline = result.headline.get(language) or next(iter(result.headline.values()), "")
        summary = result.summary.get(language) or next(iter(result.summary.values()), "")
        lines.append(f"- {result.name}: {_clip(headline, 400)} {_clip(summary, 600)}".rstrip())
    return COMPUTED_HEADER[language] + "\n".join(lines) + "\n\n" + COMPUTED_TASK[language] if lines else ""


def build_messages(question: str, language: str, hits: list, history: list, intent: str = "define",
                   computed: list | None = None) -> list[dict]:
    """The system + user messages for one question; `language` is "zh" or "en". `computed`: ToolResults that
    already ran for it, for the model to explain rather than compute (then no "use a tool" line)."""
    language = language if language in SYSTEM else "en"
    numbers = ", ".join(f"[{n}]" for n in range(1, len(hits) + 1)) or NO_NUMBERS[language]
    asked = ASKED_LINE[language].format(asked=ASKED[language][intent]) if intent in ASKED[language] else ""
    asked = "" if computed else asked
    user = USER[language].format(entries=format_entries(hits, language, intent), asked=asked,
                                 computed=format_computed(computed, language),
                                 history=format_history(history, language), question=question.strip())
    return [
        {"role": "system", "content": SYSTEM[language].format(numbers=numbers)},
        {"role": "user", "content": user},
    ]
