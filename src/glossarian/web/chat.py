"""The Gradio chat: the full page at / and the compact widget at /widget, both streaming Assistant answers.

Each browser session keeps its own conversation (a gr.State of plain turns) and sends it with every
question, so follow-ups work. User-facing problems become gr.Error toasts, never tracebacks.
"""
from __future__ import annotations

import logging
import uuid
from typing import Iterator

import gradio as gr

from glossarian.errors import GlossarianError
from glossarian.web.guard import RateLimiter
from glossarian.web.render import FigureStore, answer_messages, escape_html, escape_markdown

log = logging.getLogger("glossarian.web")

MAX_TURNS_SENT = 20  # the assistant only needs recent context; older turns are dropped
EXAMPLES = [
    "什么是骨干网络？",
    "What is a feature pyramid network?",
    "GAP 和 GMP 有什么区别？",
    "Why use label smoothing?",
    "算一下 [1,2,3] 温度 0.5 的 softmax",
    "softmax of [1, 2, 3] at temperature 0.5",
]
INTRO = (
    "**Glossarian** — 深度学习术语助手 · a bilingual deep-learning glossary. "
    "Ask in 中文 or English; answers cite the glossary entries [n] they come from, "
    "and computations run as small PyTorch demos."
)
CSS = "footer { display: none !important; }"
WIDGET_CSS = CSS + """
.app { padding: 8px !important; }
.glossarian-title p { margin: 0; font-size: 14px; }
"""


class ChatService:
    """The chat logic, shared by the full page and the widget; no Gradio layout in here."""

    def __init__(self, assistant, limiter: RateLimiter, figures: FigureStore, max_question_chars: int):
        self.assistant = assistant
        self.limiter = limiter
        self.figures = figures
        self.max_question_chars = max_question_chars

    def _admit(self, request: gr.Request | None) -> None:
        client = getattr(getattr(request, "client", None), "host", None) or "unknown"
        wait = self.limiter.hit(client)
        if wait:
            message, hint = self.limiter.message(wait)
            raise gr.Error(f"{message} {hint}", title="Slow down · 请稍候")

    def _check(self, question, request: gr.Request | None) -> None:
        """Refuse before anything is shown, so a refused question stays in the textbox to be fixed."""
        from glossarian.assistant import validate_question
        from glossarian.errors import InputError

        self._admit(request)
        try:
            validate_question(question, self.max_question_chars)
        except InputError as exc:
            raise gr.Error(escape_html(f"{exc.message} {exc.hint or ''}"), title="Glossarian") from None

    def _answers(self, question: str, turns: list[dict]) -> Iterator:
        from glossarian.assistant import Turn

        history = [Turn.from_dict(t) for t in turns[-MAX_TURNS_SENT:]]
        try:
            yield from self.assistant.stream(question, history)
        except GlossarianError as exc:
            raise gr.Error(escape_html(f"{exc.message} {exc.hint or ''}"), title="Glossarian") from None
        except Exception:
            log.exception("Unexpected error while answering %r", question[:200])
            raise gr.Error("Something went wrong on the server; it was logged.", title="Glossarian") from None

    def respond(self, question: str, chat: list, turns: list[dict], request: gr.Request):
        from glossarian.assistant import Turn

        """Stream (textbox, chat messages, turns) for one question; the textbox stays locked until the end."""
        self._check(question, request)
        turn_id = uuid.uuid4().hex[:10]
        shown = [*chat, gr.ChatMessage(role="user", content=escape_markdown(question))]
        yield _locked(), shown, turns  # the question shows at once; Gradio adds a "thinking" bubble
        previous = None
        for answer in self._answers(question, turns):  # one step behind, so the last one goes out once
            if previous is not None:
                yield _locked(), [*shown, *answer_messages(previous, self.figures, turn_id)], turns
            previous = answer
        if previous is None:
            return
        turns = [*turns, {"role": "user", "content": previous.question}, Turn.of_answer(previous).to_dict()]
        yield _locked(), [*shown, *answer_messages(previous, self.figures, turn_id)], turns

    def api_chat(self, message: str, history: list[dict] | None = None, request: gr.Request = None) -> str:
        """Ask the glossary in Chinese or English; returns the cited answer (Markdown) with its sources listed."""
        self._check(message, request)
        turns = [t for t in history or [] if isinstance(t, dict) and t.get("role") in ("user", "assistant")
                 and isinstance(t.get("content"), str)]
        answer = None
        for answer in self._answers(message, turns):
            pass
        sources = "\n".join(f"[{n}] {h.entry.id}: {h.entry.term_zh} / {h.entry.term_en}"
                            for n, h in enumerate(answer.sources, 1))
        return answer.answer + (f"\n\nSources:\n{sources}" if sources else "")


def build_chat(service: ChatService, compact: bool = False) -> gr.Blocks:
    """The full chat page, or (compact) the small one the wiki widget frames."""
    with gr.Blocks(title="Glossarian", analytics_enabled=False, fill_height=True) as blocks:
        if compact:
            gr.Markdown("**Glossarian** · 深度学习术语助手", elem_classes=["glossarian-title"])
        else:
            gr.Markdown(INTRO)
        chatbot = gr.Chatbot(
            label="Glossarian", show_label=False, scale=1,  # with fill_height, scale=1 fills the window
            examples=[{"text": q} for q in (EXAMPLES[:2] + EXAMPLES[4:5] if compact else EXAMPLES)],
            buttons=["copy", "copy_all"], feedback_options=None, allow_tags=False,
            placeholder="问一个术语 · Ask about a term",
        )
        turns = gr.State([])
        with gr.Row(equal_height=True):
            box = gr.Textbox(show_label=False, submit_btn=True, lines=1, max_lines=6, scale=8,
                             placeholder="问一个术语 · Ask a term" if compact
                             else "例如：什么是 GAP？ / e.g. What is a backbone?", autofocus=not compact)
            # The widget is narrow: there the chatbot's own trash icon is the clear button.
            clear = None if compact else gr.Button("清空 · Clear", variant="secondary", size="sm", scale=1,
                                                       min_width=90)

        outputs = [box, chatbot, turns]
        # .then runs after errors too, so the textbox always comes back.
        box.submit(service.respond, [box, chatbot, turns], outputs, api_visibility="undocumented").then(
            _unlock, None, box, api_visibility="undocumented", queue=False)
        chatbot.example_select(_example_text, None, box, api_visibility="undocumented", queue=False).then(
            service.respond, [box, chatbot, turns], outputs, api_visibility="undocumented").then(
            _unlock, None, box, api_visibility="undocumented", queue=False)
        if clear is not None:
            clear.click(lambda: ("", [], []), None, outputs, api_visibility="undocumented", queue=False)
        chatbot.clear(lambda: [], None, turns, api_visibility="undocumented", queue=False)
        if not compact:
            gr.api(service.api_chat, api_name="chat")
    return blocks


def _example_text(evt: gr.SelectData) -> str:
    return evt.value["text"]


def _locked():
    return gr.update(value="", interactive=False)  # a fresh dict each time: Gradio consumes updates


def _unlock():
    return gr.update(interactive=True)
