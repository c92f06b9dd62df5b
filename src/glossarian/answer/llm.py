"""OpenAI-compatible LLM backend (optional): streamed answers from retrieved entries, with citations and tool calls.

One of the two answer backends (see `events.Backend`): it yields the same events as the offline composer.

Speaks only standard /v1/chat/completions fields with SSE streaming, so it works with vLLM, Ollama, the
llama.cpp server and hosted APIs. Text is streamed as it arrives, minus <think> blocks and minus citations
that point at no retrieved entry. Every failure of the endpoint becomes LLMUnavailable, even halfway through
an answer, so the assistant can fall back to its offline answer. Generation is bounded: `max_tokens` is sent
with every request, and one answer (tool rounds included) gets `timeout` seconds in all; past either the
stream is closed and LLMOverrun (an LLMUnavailable) is raised. Calculator runs are not counted.
"""
from __future__ import annotations

import json
import logging
import queue
import re
import threading
import time
from typing import Iterator

from glossarian.answer.events import Citation, Event, Notice, Request, Text, ToolFailed, ToolRan
from glossarian.answer.filters import AnswerFilter, ThinkFilter
from glossarian.errors import GlossarianError, ToolError
from glossarian.prompts import build_messages, sections

log = logging.getLogger("glossarian")

MAX_TOOL_ROUNDS = 3


class LLMUnavailable(GlossarianError):
    """The LLM endpoint is down, too slow, refused the request, or sent something that is not an answer."""


class LLMOverrun(LLMUnavailable):
    """The answer did not finish within its budget: the total time (GLOSSARIAN_LLM_TIMEOUT) or max_tokens."""


NOTICE = {
    "en": "Removed citation [{n}]: the answer has only {k} source(s).",
    "zh": "已删除引用 [{n}]：这个回答只有 {k} 个来源。",
}


# ---------------------------------------------------------------- the backend


def _one_line(text: object, limit: int = 200) -> str:
    text = re.sub(r"\s+", " ", str(text)).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


class LLMBackend:
    """One OpenAI-compatible endpoint and model; `answer()` streams events for one request."""

    def __init__(self, base_url: str, api_key: str, model: str, timeout: float = 20.0, max_tokens: int = 512):
        from openai import OpenAI

        self.base_url = base_url
        self.model = model
        self.timeout = timeout  # seconds for one whole answer, not per request
        self.max_tokens = max_tokens
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
        return cls(base_url, settings.llm_api_key, model, settings.llm_timeout, settings.llm_max_tokens)

    def answer(self, request: Request, use_tools: bool = True, computed: list | None = None) -> Iterator[Event]:
        """Stream the answer as events; raises LLMUnavailable when the endpoint fails, also midway, and LLMOverrun
        when the answer outlasts its budget. `computed`: ToolResults already run for the question, to explain."""
        language, hits = request.language, request.hits
        messages = build_messages(request.question, language, hits, request.history, request.intent, computed)
        deadline = time.monotonic() + self.timeout
        for n, hit in enumerate(hits, 1):  # the model may cite any numbered entry it was given
            yield Citation(n, hit, sections(hit.entry, request.intent, language))
        removed: list[int] = []
        try:
            yield from self._answer(messages, language, len(hits), use_tools, deadline, removed)
        finally:  # once per answer, however it ended; a stream can repeat a bad citation in every chunk
            if removed:
                log.warning("The LLM cited %s but was given %d source(s); removed from the answer.",
                            ", ".join(f"[{n}]" for n in dict.fromkeys(removed)), len(hits))

    def _answer(self, messages: list[dict], language: str, sources: int, use_tools: bool, deadline: float,
                removed_all: list[int]) -> Iterator[Event]:
        from glossarian.tools import list_tools

        schemas = [t.schema for t in list_tools()] if use_tools else []
        notice = NOTICE.get(language, NOTICE["en"])
        reported: set[int] = set()
        answered = False
        for round_ in range(MAX_TOOL_ROUNDS + 1):
            offered = schemas if round_ < MAX_TOOL_ROUNDS and self.tools_supported else []
            answer_filter = AnswerFilter(sources)
            visible: list[str] = []
            calls: dict[int, dict] = {}
            for delta in self._reply(messages, offered, calls, deadline):
                text, removed = answer_filter.feed(delta) if delta is not None else answer_filter.flush()
                if text:
                    if not visible and answered:
                        yield Text("\n\n")  # text before a tool call, then the answer
                    visible.append(text)
                    yield Text(text)
                removed_all.extend(removed)
                for n in removed:
                    if n not in reported:
                        reported.add(n)
                        yield Notice(notice.format(n=n, k=sources))
            round_text = "".join(visible)
            answered = answered or bool(round_text.strip())
            if not calls or round_ == MAX_TOOL_ROUNDS:
                break  # a tool call in the last round, where none was offered, is ignored
            started = time.monotonic()
            yield from self._run_calls(messages, round_text, calls, bool(offered), round_)
            deadline += time.monotonic() - started  # calculators have their own limit; the budget is the model's
        if not answered:
            raise LLMUnavailable(f"The LLM at {self.base_url} returned an empty answer.",
                                 f"Check that {self.model!r} is a chat model that the server can run.")

    def complete(self, messages: list[dict]) -> str:
        """The whole reply to `messages`, without tools, citations or <think> blocks (for drafting text).

        Raises LLMUnavailable like `answer()`, also for an empty reply.
        """
        think = ThinkFilter()
        deltas = self._reply(messages, [], {}, time.monotonic() + self.timeout)
        text = "".join(think.feed(d) for d in deltas if d is not None) + think.flush()
        if not text.strip():
            raise LLMUnavailable(f"The LLM at {self.base_url} returned an empty reply.",
                                 f"Check that {self.model!r} is a chat model that the server can run.")
        return text.strip()

    # -- one request -------------------------------------------------------------------------
    def _reply(self, messages: list[dict], tools: list[dict], calls: dict[int, dict],
               deadline: float) -> Iterator[str | None]:
        """Stream one reply: yields text deltas, then None at the end; tool-call deltas are merged into `calls`.
        Closing the stream (also on overrun) drops the connection, which tells the server to stop generating."""
        stream = self._create(messages, tools, deadline)
        seen = 0
        reader = StreamReader(stream)
        try:
            while True:
                try:
                    chunk = reader.next(deadline - time.monotonic())
                except queue.Empty:
                    raise self._overrun() from None
                except Exception as exc:  # anything the client raises while reading is a bad reply
                    raise self._unavailable(exc) from None
                if chunk is StreamReader.END:
                    break
                if time.monotonic() > deadline:
                    raise self._overrun()
                seen += 1
                for choice in getattr(chunk, "choices", None) or []:
                    delta = getattr(choice, "delta", None)
                    if getattr(choice, "finish_reason", None) == "length" and (getattr(choice, "index", 0) or 0) == 0:
                        raise LLMOverrun(f"The LLM at {self.base_url} was stopped at {self.max_tokens} tokens "
                                         "before it finished its answer.",
                                         "Raise GLOSSARIAN_LLM_MAX_TOKENS, or use a model that answers concisely.")
                    if delta is None or (getattr(choice, "index", 0) or 0) != 0:
                        continue
                    if isinstance(delta.content, str) and delta.content:
                        yield delta.content
                    for part in delta.tool_calls or []:
                        _merge_tool_call(calls, part)
        finally:
            reader.stop()
        if not seen:
            content_type = stream.response.headers.get("content-type", "none")
            raise LLMUnavailable(
                f"The LLM at {self.base_url} sent no streamed chat-completion chunks (Content-Type: {content_type}).",
                "Check that GLOSSARIAN_LLM_BASE_URL points at an OpenAI-compatible /v1 endpoint that supports streaming.",
            )
        yield None

    def _create(self, messages: list[dict], tools: list[dict], deadline: float):
        import openai

        left = deadline - time.monotonic()
        if left <= 0:
            raise self._overrun()
        # The client's timeout bounds each wait (connecting, the first byte, each chunk) by what is left.
        request = {"model": self.model, "messages": messages, "stream": True, "max_tokens": self.max_tokens,
                   "timeout": left}
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
                return self._create(messages, [], deadline)
            raise self._unavailable(exc) from None

    def _unavailable(self, exc: Exception) -> LLMUnavailable:
        import openai

        where = f"The LLM at {self.base_url}"
        log.debug("LLM request failed", exc_info=exc)
        if isinstance(exc, openai.APITimeoutError):
            return self._overrun()
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

    def _overrun(self) -> LLMOverrun:
        return LLMOverrun(f"The LLM at {self.base_url} did not finish its answer within {self.timeout:g} s.",
                          "Use a faster model, lower GLOSSARIAN_LLM_MAX_TOKENS or raise GLOSSARIAN_LLM_TIMEOUT.")

    # -- tools -------------------------------------------------------------------------------
    def _run_calls(self, messages: list[dict], text: str, calls: dict[int, dict], offered: bool,
                   round_: int) -> Iterator[Event]:
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
                yield ToolFailed(name, str(exc))
                content = f"Error: {exc}"
            else:
                yield ToolRan(result)
                # The model needs the numbers, not the snippet the UI shows.
                content = json.dumps({k: v for k, v in result.to_json().items() if k != "code"}, ensure_ascii=False)
            # Servers that parse the echoed arguments for their chat template reject invalid JSON.
            arguments_json = call["arguments"] if _is_json_object(call["arguments"]) else "{}"
            echoed.append({"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments_json}})
            replies.append({"role": "tool", "tool_call_id": call_id, "content": content})
        messages.append({"role": "assistant", "content": text or None, "tool_calls": echoed})
        messages.extend(replies)


class StreamReader:
    """Reads a stream's chunks on a helper thread, so that the answer's deadline holds even while the server sends
    nothing but keep-alive comments, which neither a loop over chunks nor the client's per-read timeout notices
    (measured: llama-cpp-python's server sends ": ping" every 15 s while it reads a prompt; a 3,600-token prompt
    took it 150 s on a loaded 2-core machine, and an answer then ran 200 s against a 15 s budget).
    The thread owns the stream and closes it: at its end, on an error, or at the first chunk after `stop()`."""

    END = object()

    def __init__(self, stream) -> None:
        self.stream = stream
        self.chunks: queue.SimpleQueue = queue.SimpleQueue()
        self.stopped = threading.Event()
        threading.Thread(target=self._read, name="glossarian-llm-stream", daemon=True).start()

    def _read(self) -> None:
        try:
            for chunk in self.stream:
                if self.stopped.is_set():
                    return
                self.chunks.put((chunk, None))
            self.chunks.put((self.END, None))
        except Exception as exc:
            self.chunks.put((None, exc))
        finally:
            self.stream.close()

    def next(self, timeout: float):
        """The next chunk or END; raises queue.Empty after `timeout` seconds, or what reading raised."""
        chunk, error = self.chunks.get(timeout=max(timeout, 0.0))
        if error is not None:
            raise error
        return chunk

    def stop(self) -> None:
        self.stopped.set()


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
