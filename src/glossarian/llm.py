"""OpenAI-compatible LLM backend (optional): streamed answers from retrieved entries, with citations and tool calls.

Speaks only standard /v1/chat/completions fields with SSE streaming, so it works with vLLM, Ollama, the
llama.cpp server and hosted APIs. Text is streamed as it arrives, minus <think> blocks and minus citations
that point at no retrieved entry. Every failure of the endpoint becomes LLMUnavailable, even halfway through
an answer, so the assistant can fall back to its offline answer.
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Iterator

from glossarian.errors import GlossarianError, ToolError
from glossarian.prompts import build_messages

log = logging.getLogger("glossarian")

MAX_TOOL_ROUNDS = 3


class LLMUnavailable(GlossarianError):
    """The LLM endpoint is down, too slow, refused the request, or sent something that is not an answer."""


@dataclass
class LLMEvent:
    kind: str  # "text" (a delta of the answer), "tool" (a tool ran), "notice" (e.g. citations removed)
    text: str = ""  # the delta, the notice, or for "tool" the tool's name
    tool_result: object | None = None  # ToolResult for kind == "tool"
    tool_error: str | None = None  # message when the tool refused its arguments (the model is told too)


# ---------------------------------------------------------------- streamed text filters


def _partial_suffix(text: str, token: str) -> int:
    """Length of the longest end of `text` that could be the start of `token`."""
    for k in range(min(len(token) - 1, len(text)), 0, -1):
        if text.endswith(token[:k]):
            return k
    return 0


class ThinkFilter:
    """Drops <think>...</think> blocks of reasoning models, also when a tag is split across chunks."""

    OPEN, CLOSE = "<think>", "</think>"

    def __init__(self) -> None:
        self.inside = False
        self.pending = ""

    def feed(self, text: str) -> str:
        buf, out = self.pending + text, []
        self.pending = ""
        while buf:
            tag = self.CLOSE if self.inside else self.OPEN
            at = buf.find(tag)
            if at >= 0:
                if not self.inside:
                    out.append(buf[:at])
                buf = buf[at + len(tag):]
                self.inside = not self.inside
                continue
            keep = _partial_suffix(buf, tag)
            if not self.inside:
                out.append(buf[: len(buf) - keep])
            self.pending = buf[len(buf) - keep:]
            break
        return "".join(out)

    def flush(self) -> str:
        text = "" if self.inside else self.pending  # an unclosed <think> is dropped whole
        self.pending = ""
        return text


CITATION = re.compile(r"(\s*)\[(\s*\d+(?:\s*[,，、]\s*\d+)*\s*)\]")
# What may still grow into a citation (or a code fence) with the next chunk: held back until it is complete.
# Whitespace is held too, so a removed citation takes the space before it along.
INCOMPLETE = re.compile(r"(?:\s*(?:\[[\d\s,，、]{0,20})?|`{1,2})\Z")
CODE_MARK = re.compile(r"(```|`)")


class CitationFilter:
    """Removes citations [n] with n outside 1..sources from streamed text; code spans are left alone."""

    def __init__(self, sources: int) -> None:
        self.sources = sources
        self.pending = ""
        self.code: str | None = None  # the backticks that opened the code span we are in

    def feed(self, text: str) -> tuple[str, list[int]]:
        buf = self.pending + text
        cut = INCOMPLETE.search(buf).start()
        self.pending = buf[cut:]
        return self._clean(buf[:cut])

    def flush(self) -> tuple[str, list[int]]:
        text, self.pending = self.pending, ""
        return self._clean(text)

    def _clean(self, text: str) -> tuple[str, list[int]]:
        out: list[str] = []
        removed: list[int] = []
        for part in CODE_MARK.split(text):
            if part in ("```", "`"):
                if self.code is None:
                    self.code = part
                elif self.code == part:
                    self.code = None
                out.append(part)
            elif self.code:
                out.append(part)  # x[0] in code is an index, not a citation
            else:
                out.append(CITATION.sub(lambda m: self._check(m, removed), part))
        return "".join(out), removed

    def _check(self, match: re.Match, removed: list[int]) -> str:
        numbers = [int(n) for n in re.findall(r"\d+", match.group(2))]
        valid = [n for n in numbers if 1 <= n <= self.sources]
        if len(valid) == len(numbers):
            return match.group(0)
        removed.extend(n for n in numbers if n not in valid)
        return f"{match.group(1)}[{', '.join(map(str, valid))}]" if valid else ""


class AnswerFilter:
    """What the user sees of one streamed reply: no reasoning block, no leading blank lines, valid citations."""

    def __init__(self, sources: int) -> None:
        self.think = ThinkFilter()
        self.citations = CitationFilter(sources)
        self.started = False

    def feed(self, delta: str) -> tuple[str, list[int]]:
        return self.citations.feed(self._trim(self.think.feed(delta)))

    def flush(self) -> tuple[str, list[int]]:
        text, removed = self.citations.feed(self._trim(self.think.flush()))
        rest, more = self.citations.flush()
        return text + rest, removed + more

    def _trim(self, text: str) -> str:
        if not self.started:
            text = text.lstrip()
            self.started = bool(text)
        return text


NOTICE = {
    "en": "Removed citation [{n}]: the answer has only {k} source(s).",
    "zh": "已删除引用 [{n}]：这个回答只有 {k} 个来源。",
}


# ---------------------------------------------------------------- the backend


def _one_line(text: object, limit: int = 200) -> str:
    text = re.sub(r"\s+", " ", str(text)).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


class LLMBackend:
    """One OpenAI-compatible endpoint and model; `answer()` streams LLMEvents for one question."""

    def __init__(self, base_url: str, api_key: str, model: str, timeout: float = 20.0):
        from openai import OpenAI

        self.base_url = base_url
        self.model = model
        self.timeout = timeout
        # Retries would only delay the offline fallback; the assistant answers anyway.
        self.client = OpenAI(base_url=base_url, api_key=api_key or "not-needed", timeout=timeout, max_retries=0)
        self.tools_supported = True  # set to False when the server refuses `tools=`

    @classmethod
    def from_settings(cls, settings) -> "LLMBackend | None":
        base_url, model = settings.llm_base_url.strip(), settings.llm_model.strip()
        if not base_url or not model:
            if base_url or model:
                missing = "GLOSSARIAN_LLM_MODEL" if base_url else "GLOSSARIAN_LLM_BASE_URL"
                log.warning("%s is not set, so the LLM backend is off; answers come from the glossary alone.", missing)
            return None
        return cls(base_url, settings.llm_api_key, model, settings.llm_timeout)

    def answer(self, question: str, language: str, hits: list, history: list,
               use_tools: bool = True) -> Iterator[LLMEvent]:
        """Stream the answer as events; raises LLMUnavailable when the endpoint fails, also midway."""
        from glossarian.tools import list_tools

        messages = build_messages(question, language, hits, history)
        schemas = [t.schema for t in list_tools()] if use_tools else []
        notice = NOTICE.get(language, NOTICE["en"])
        reported: set[int] = set()
        answered = False
        for round_ in range(MAX_TOOL_ROUNDS + 1):
            offered = schemas if round_ < MAX_TOOL_ROUNDS and self.tools_supported else []
            answer_filter = AnswerFilter(len(hits))
            visible: list[str] = []
            calls: dict[int, dict] = {}
            for delta in self._reply(messages, offered, calls):
                text, removed = answer_filter.feed(delta) if delta is not None else answer_filter.flush()
                if text:
                    if not visible and answered:
                        yield LLMEvent("text", "\n\n")  # text before a tool call, then the answer
                    visible.append(text)
                    yield LLMEvent("text", text)
                for n in removed:
                    log.warning("The LLM cited [%d] but was given %d source(s); citation removed.", n, len(hits))
                    if n not in reported:
                        reported.add(n)
                        yield LLMEvent("notice", notice.format(n=n, k=len(hits)))
            round_text = "".join(visible)
            answered = answered or bool(round_text.strip())
            if not calls or round_ == MAX_TOOL_ROUNDS:
                break  # a tool call in the last round, where none was offered, is ignored
            yield from self._run_calls(messages, round_text, calls, bool(offered), round_)
        if not answered:
            raise LLMUnavailable(f"The LLM at {self.base_url} returned an empty answer.",
                                 f"Check that {self.model!r} is a chat model that the server can run.")

    def complete(self, messages: list[dict]) -> str:
        """The whole reply to `messages`, without tools, citations or <think> blocks (for drafting text).

        Raises LLMUnavailable like `answer()`, also for an empty reply.
        """
        think = ThinkFilter()
        text = "".join(think.feed(d) for d in self._reply(messages, [], {}) if d is not None) + think.flush()
        if not text.strip():
            raise LLMUnavailable(f"The LLM at {self.base_url} returned an empty reply.",
                                 f"Check that {self.model!r} is a chat model that the server can run.")
        return text.strip()

    # -- one request -------------------------------------------------------------------------
    def _reply(self, messages: list[dict], tools: list[dict], calls: dict[int, dict]) -> Iterator[str | None]:
        """Stream one reply: yields text deltas, then None at the end; tool-call deltas are merged into `calls`."""
        stream = self._create(messages, tools)
        seen = 0
        try:
            chunks = iter(stream)
            while True:
                try:
                    chunk = next(chunks, None)
                except Exception as exc:  # anything the client raises while reading is a bad reply
                    raise self._unavailable(exc) from None
                if chunk is None:
                    break
                seen += 1
                for choice in getattr(chunk, "choices", None) or []:
                    delta = getattr(choice, "delta", None)
                    if delta is None or (getattr(choice, "index", 0) or 0) != 0:
                        continue
                    if isinstance(delta.content, str) and delta.content:
                        yield delta.content
                    for part in delta.tool_calls or []:
                        _merge_tool_call(calls, part)
        finally:
            stream.close()
        if not seen:
            content_type = stream.response.headers.get("content-type", "none")
            raise LLMUnavailable(
                f"The LLM at {self.base_url} sent no streamed chat-completion chunks (Content-Type: {content_type}).",
                "Check that GLOSSARIAN_LLM_BASE_URL points at an OpenAI-compatible /v1 endpoint that supports streaming.",
            )
        yield None

    def _create(self, messages: list[dict], tools: list[dict]):
        import openai

        request = {"model": self.model, "messages": messages, "stream": True}
        if tools:
            request["tools"] = tools
        try:
            return self.client.chat.completions.create(**request)
        except openai.OpenAIError as exc:
            # Servers or models without tool support refuse `tools=` (Ollama: "does not support tools",
            # llama.cpp without --jinja); answer without tools rather than not at all.
            if tools and isinstance(exc, openai.APIStatusError) and "tool" in _one_line(exc.message, 2000).lower():
                log.warning("The LLM server refused tools (%s); asking without them from now on.", _one_line(exc.message))
                self.tools_supported = False
                return self._create(messages, [])
            raise self._unavailable(exc) from None

    def _unavailable(self, exc: Exception) -> LLMUnavailable:
        import openai

        where = f"The LLM at {self.base_url}"
        log.debug("LLM request failed", exc_info=exc)
        if isinstance(exc, openai.APITimeoutError):
            return LLMUnavailable(f"{where} did not answer within {self.timeout:g} s.",
                                  "Use a faster model or raise GLOSSARIAN_LLM_TIMEOUT.")
        if isinstance(exc, openai.APIConnectionError):
            return LLMUnavailable(f"Cannot reach the LLM at {self.base_url}: {_one_line(exc.__cause__ or exc).rstrip('.')}.",
                                  "Start the LLM server or fix GLOSSARIAN_LLM_BASE_URL (it usually ends in /v1).")
        if isinstance(exc, openai.APIStatusError):
            body = exc.body.get("message") if isinstance(exc.body, dict) else exc.body
            detail = _one_line(body or exc.response.reason_phrase)
            hint = {
                401: "Check GLOSSARIAN_LLM_API_KEY.",
                403: "Check GLOSSARIAN_LLM_API_KEY.",
                404: "Check GLOSSARIAN_LLM_BASE_URL (it usually ends in /v1) and GLOSSARIAN_LLM_MODEL.",
            }.get(exc.status_code, "Check the LLM server's log.")
            return LLMUnavailable(f"{where} answered HTTP {exc.status_code}: {detail}", hint)
        if isinstance(exc, openai.APIError):  # an error event inside the stream
            return LLMUnavailable(f"{where} reported an error: {_one_line(exc.message)}", "Check the LLM server's log.")
        return LLMUnavailable(
            f"{where} sent a reply that is not a streamed chat completion ({type(exc).__name__}: {_one_line(exc, 80)}).",
            "Check that GLOSSARIAN_LLM_BASE_URL points at an OpenAI-compatible /v1 endpoint.",
        )

    # -- tools -------------------------------------------------------------------------------
    def _run_calls(self, messages: list[dict], text: str, calls: dict[int, dict], offered: bool,
                   round_: int) -> Iterator[LLMEvent]:
        """Run the requested tools, yield one event each, and append the exchange to `messages`."""
        from glossarian.tools import run_tool

        echoed, replies = [], []
        for i, call in enumerate(calls[k] for k in sorted(calls)):
            call_id = call["id"] or f"call_{round_}_{i}"
            name = call["name"]
            try:
                if not offered:
                    raise ToolError("Tools are not available for this answer.",
                                    "Answer from the numbered glossary entries in text.")
                arguments = _parse_arguments(name, call["arguments"])
                result = run_tool(name, arguments)
            except ToolError as exc:
                log.warning("The LLM's call to tool %r was refused: %s", name, exc)
                yield LLMEvent("tool", text=name, tool_error=str(exc))
                content = f"Error: {exc}"
            else:
                yield LLMEvent("tool", text=name, tool_result=result)
                # The model needs the numbers, not the snippet the UI shows.
                content = json.dumps({k: v for k, v in result.to_json().items() if k != "code"}, ensure_ascii=False)
            # Servers that parse the echoed arguments for their chat template reject invalid JSON.
            arguments_json = call["arguments"] if _is_json_object(call["arguments"]) else "{}"
            echoed.append({"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments_json}})
            replies.append({"role": "tool", "tool_call_id": call_id, "content": content})
        messages.append({"role": "assistant", "content": text or None, "tool_calls": echoed})
        messages.extend(replies)


def _merge_tool_call(calls: dict[int, dict], part) -> None:
    """Add one streamed tool-call delta: the id and name come once, the arguments in pieces."""
    index = part.index if isinstance(part.index, int) else None
    if index is None:  # servers that omit the index send each call whole
        index = len(calls) if part.id or not calls else max(calls)
    call = calls.setdefault(index, {"id": "", "name": "", "arguments": ""})
    if part.id:
        call["id"] = part.id
    function = part.function
    if function is None:
        return
    if function.name and function.name != call["name"]:
        call["name"] += function.name
    if function.arguments:
        arguments = function.arguments
        call["arguments"] += arguments if isinstance(arguments, str) else json.dumps(arguments)


def _parse_arguments(name: str, text: str) -> dict:
    if not text.strip():
        return {}
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ToolError(f"The arguments for {name} are not valid JSON ({exc.msg} at character {exc.pos}).",
                        'Send a JSON object, e.g. {"logits": [1, 2, 3], "temperatures": [0.5]}.') from None


def _is_json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False
