"""Conversation state and planning one answer: turns as data, follow-up subject and intent, computation carry-over.

A Turn carries what the program needs later as fields: the entry ids an assistant turn cited, the intent
it answered, the tool call it ran. State is read from those fields; only turns without them (a client
that sends bare text) are read as text, by matching glossary names in them. `plan` turns a question plus
the earlier turns into the `Request` every answer backend takes.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from glossarian import intent as intents
from glossarian.answer.events import Request
from glossarian.missing import plausible_neighbours

# Words that lean on an earlier subject ("那它和 neck 有什么区别?", "why is it pretrained?").
ANAPHORA = re.compile(r"它|它们|这个|那个|其|\b(it|its|this|that|they|them|former|latter)\b", re.I)
HISTORY_LOOKBACK = 6  # turns searched for the subject: the last three exchanges
FOLLOWUP_WORDS = 8  # an intent-only question up to this long continues the subject; longer ones describe a new one


@dataclass
class Turn:
    role: str  # "user" or "assistant"
    content: str
    sources: tuple[str, ...] = ()  # assistant turns: ids of the entries cited, in citation order
    intent: str = ""  # assistant turns: what the turn answered (intent.INTENTS)
    tool: dict | None = None  # assistant turns: {"name": ..., "arguments": {...}} of the computation run

    @classmethod
    def of_answer(cls, answer) -> "Turn":
        tool = answer.tool_calls[-1] if answer.tool_calls else None
        return cls("assistant", answer.answer, tuple(h.entry.id for h in answer.sources), answer.intent,
                   {"name": tool.name, "arguments": dict(tool.arguments)} if tool else None)

    @classmethod
    def from_dict(cls, d: dict) -> "Turn":
        """From API/UI history; optional fields of the wrong type are dropped, not trusted."""
        sources = d.get("sources") or ()
        ids = tuple(s.get("id") if isinstance(s, dict) else s for s in sources) if isinstance(sources, (list, tuple)) else ()
        tool = d.get("tool")
        tool = tool if isinstance(tool, dict) and isinstance(tool.get("name"), str) and isinstance(
            tool.get("arguments"), dict) else None
        intent = d.get("intent") if d.get("intent") in intents.INTENTS else ""
        return cls(d["role"], d["content"], tuple(i for i in ids if isinstance(i, str)), intent, tool)

    def to_dict(self) -> dict:
        out = {"role": self.role, "content": self.content}
        if self.role == "assistant":
            out.update(sources=list(self.sources), intent=self.intent, tool=self.tool)
        return out


@dataclass
class State:
    """What earlier turns leave behind for a follow-up."""
    subject: object | None = None  # Entry
    shown: set = field(default_factory=set)  # (entry id, intent) already answered
    tool: dict | None = None  # the last computation


def read_state(history: list[Turn], matcher, entries: list, by_id: dict) -> State:
    state = State()
    recent = history[-HISTORY_LOOKBACK:]
    for turn in recent:
        if turn.role != "assistant":
            continue
        if turn.sources:
            ids = [i for i in turn.sources if i in by_id]
            kinds = [turn.intent or "define"]
            for i in (ids if turn.intent == "compare" else ids[:1]):
                state.shown |= {(i, k) for k in kinds}
        if turn.tool:
            state.tool = turn.tool
    for turn in reversed(recent):
        if turn.role == "assistant" and turn.sources:
            ids = [i for i in turn.sources if i in by_id]
            if ids:
                state.subject = entries[by_id[ids[0]]]
                return state
        if turn.role == "assistant" and turn.intent:
            continue  # a structured turn without sources (a computation, a missing term): nothing to re-read
        # A client that sent bare text: the first term the answer's heading or the question names.
        text = turn.content.strip().split("\n", 1)[0] if turn.role == "assistant" else turn.content
        found = matcher.find(text)
        if found:
            state.subject = entries[found[0]]
            if turn.role == "user":
                state.shown.add((state.subject.id, intents.detect(turn.content)))
            return state
    return state


def plan(question: str, lang: str, history: list[Turn], retriever) -> Request:
    """Resolve subject, intent, tool call and missing term for one question; search; build the Request."""
    from glossarian.tools import route

    index = retriever.index
    by_id = index.by_id
    matcher = retriever.matcher
    kind = intents.detect(question)
    named_now = matcher.find(question) + matcher.fuzzy(question)
    short = len(question) <= 12 or len(question.split()) <= 4
    # "can you give an example?", "what if the rate is very high?": an intent and no term of its own.
    asks_more = kind not in ("define", "name") and (len(question) <= 24 or len(question.split()) <= FOLLOWUP_WORDS)
    state = read_state(history, matcher, index.entries, by_id) if history else State()
    leans = ANAPHORA.search(question) or (not named_now and (short or asks_more))
    subject = state.subject if leans else None
    subject = None if subject is not None and subject.id in {index.entries[i].id for i in named_now} else subject

    retrieval = retriever.search(f"{subject.term_en} {question}" if subject else question,
                                 check_missing=subject is None and kind not in ("compute", "name"))
    hits = list(retrieval.hits)
    subjects = _subjects(retrieval, hits, subject, index if kind == "compare" else None)
    tool_call = _tool_call(question, kind, subject, state.tool, route)
    if kind == "example" and tool_call is not None and _glossary_example_fits(question, tool_call, subjects, lang):
        tool_call = None
    if tool_call is not None and kind not in ("compute", "example"):
        kind = "compute"
    missing = retrieval.missing  # checked by retrieval, except for a follow-up, a computation or a name-seeker
    closest = plausible_neighbours(missing, retrieval) if missing else []
    ordered = subjects + [h for h in hits if h not in subjects]
    return Request(question=question, language=lang, intent=kind, subjects=[] if missing else subjects,
                   hits=[] if missing else ordered, entries={e.id: e for e in (h.entry for h in ordered)} | _related(ordered, index),
                   history=history, tool_call=tool_call, followup=subject is not None,
                   shown=frozenset(state.shown), missing_term=missing, closest=closest,
                   abstained=retrieval.abstained and subject is None)


def _subjects(retrieval, hits: list, subject, index=None) -> list:
    """Which entries the answer is about: the conversation's subject first, then every entry the question
    names (multi-term questions, in the order named), else the best hit. With `index` (a comparison), every
    entry the question names is a subject even when ranking put a neighbour that mentions both above it
    ("BatchNorm 和 LayerNorm 有什么区别" must compare those two, not answer with GroupNorm)."""
    if subject is None and index is not None and len(retrieval.named_in_question) >= 2 and hits:
        by_hit = {h.entry.id: h for h in hits}
        return [by_hit.get(i) or replace(hits[0], entry=index.entries[index.by_id[i]])
                for i in retrieval.named_in_question[:4] if i in index.by_id]
    if subject is not None:
        own = next((h for h in hits if h.entry.id == subject.id), None)
        if own is None:
            template = hits[0] if hits else (retrieval.nearest[0] if retrieval.nearest else None)
            if template is None:
                return []
            own = replace(template, entry=subject)
        return [own] + [h for h in hits if h.named and h.entry.id != subject.id][:3]
    named = [h for h in hits if h.named]
    if len(named) >= 2:
        position = {id_: n for n, id_ in enumerate(retrieval.named_in_question)}
        return sorted(named, key=lambda h: position.get(h.entry.id, len(position)))[:4]
    return hits[:1]


def _tool_call(question: str, kind: str, subject, last_tool: dict | None, route):
    """The router's call for this question; for a follow-up, with the subject or the last tool as topic
    ("compute it for a 2x64x7x7 tensor", "换成 T=5 呢?"), keeping the last call's other inputs."""
    call = route(question)
    if call is not None or kind != "compute":
        return call
    if last_tool is not None:
        topic = last_tool["name"].replace("_", " ")
        call = route(f"{topic} {question}")
        if call is not None and call.name == last_tool["name"]:
            kept = {k: v for k, v in last_tool["arguments"].items() if k in call.defaulted and k in call.arguments}
            return replace(call, arguments={**call.arguments, **kept},
                           defaulted=[k for k in call.defaulted if k not in kept])
    if subject is not None:
        return route(f"{subject.term_en} {question}")
    return None


# Asking to see something run, not for the glossary's worked example.
DEMO = re.compile(r"\bdemo|\brun\b|\bcode\b|演示|跑一下|跑个|代码|运行", re.I)


def _glossary_example_fits(question: str, call, subjects: list, lang: str) -> bool:
    """"Give me an example of max pooling" with no numbers of its own: the entry's worked example answers it
    better than a calculator run on assumed inputs. With inputs given ("an example with a 2x64x7x7 input"), or
    when the entry has no example, the calculator runs."""
    given = not call.defaulted or re.search(r"\d", question) or DEMO.search(question)
    return not given and bool(subjects) and bool(subjects[0].entry.facet(lang, "example"))


def _related(hits: list, index) -> dict:
    out = {}
    for h in hits:
        for rid in h.entry.related:
            if rid in index.by_id:
                out[rid] = index.entries[index.by_id[rid]]
    return out
