"""The Gradio chat: the full page at / and the compact widget at /widget, both streaming Assistant answers.

Each browser session's conversation (the shown messages and the plain turns) lives on the server in
gr.State, so a question's request carries only the question and follow-ups work. User-facing problems
become gr.Error toasts, never tracebacks; their titles tell the gate which HTTP status a direct API call gets.
"""
from __future__ import annotations

import copy
import logging
import time
import uuid
from typing import Iterator

import gradio as gr

from glossarian.errors import GlossarianError
from glossarian.web.feedback import CHAT_FEEDBACK, like_handler, page_from_referer, record_answer
from glossarian.web.guard import RateLimiter
from glossarian.web.render import FigureStore, answer_messages, escape_html, escape_markdown

log = logging.getLogger("glossarian.web")

MAX_TURNS_SENT = 20  # the assistant only needs recent context; older turns are dropped
# A reader who asks during start-up sees a notice and waits this long at most (a first index build of
# ~250 entries takes a few minutes on 2 cores; the model alone loads in ~10 s).
START_WAIT_S = 300
# gr.Error titles, and the HTTP status gate.py gives a direct call (/gradio_api/run/chat) refused with each.
TITLE_INPUT = "Glossarian"
TITLE_BUSY = "Slow down · 请稍候"
TITLE_SERVER = "Glossarian · server"
ERROR_STATUS = {TITLE_INPUT: 400, TITLE_BUSY: 429}  # anything else stays a 500
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
CSS = """
footer { display: none !important; }
/* a readable column, as the chat UIs people like (ChatGPT, Open WebUI: ~700-800 px) */
.gradio-container { max-width: 800px !important; margin: 0 auto !important; }
/* sharing goes to Hugging Face Spaces, which an offline tool never is */
button[aria-label="Share"], button[title="Share"], button[aria-label="分享"], button[title="分享"] { display: none !important; }
/* source cards: readable text, not small grey print */
.thought-group .content, .thought-group .content p { font-size: 14px !important; color: var(--body-text-color) !important; }
a[href^="#source-"] { text-decoration: none !important; font-weight: 600; color: var(--color-accent) !important; }
@media (max-width: 600px) {
  .gradio-container { padding: 6px !important; }
  .glossarian-intro p { font-size: 13px; margin: 0; display: -webkit-box; -webkit-line-clamp: 1;
                        -webkit-box-orient: vertical; overflow: hidden; }
  .glossarian-clear { display: none !important; }   /* the chat's own trash icon clears; the input gets the width */
  .bot-row { max-width: 100% !important; margin-left: 0 !important; margin-right: 0 !important; }
}
"""
WIDGET_CSS = CSS + """
.gradio-container { max-width: none !important; }
.app { padding: 8px !important; }
"""
# Clickable citations and scrolling: [n] (a link to #source-n, see render.CITATION) opens source card n of
# its answer; each new answer scrolls so that its question sits at the top and the answer flows below it.
CHAT_HEAD = r"""<script>
(function () {
  function titles(row) { return Array.prototype.slice.call(row.querySelectorAll(".thought-group .title")); }
  function expand(title) { if (title && !/\bexpanded\b/.test(title.className)) title.click(); }
  document.addEventListener("click", function (e) {
    var a = e.target.closest && e.target.closest('a[href^="#source-"]');
    if (!a) return;
    e.preventDefault();
    e.stopPropagation();
    var n = a.getAttribute("href").slice(8), row = a.closest(".message-row") || document;
    expand(titles(row).filter(function (t) { return /\(\d+\)\s*$/.test(t.textContent.trim()); })[0]);
    setTimeout(function () {
      var card = titles(row).filter(function (t) { return t.textContent.trim().indexOf("[" + n + "]") === 0; })[0];
      if (!card) return;
      expand(card);
      setTimeout(function () { card.scrollIntoView({ block: "center", behavior: "smooth" }); }, 250);
    }, 250);
  }, true);
  var bots = 0;
  new MutationObserver(function () {
    var rows = document.querySelectorAll(".message-row.bot-row"), users = document.querySelectorAll(".message-row.user-row");
    if (rows.length > bots && users.length) users[users.length - 1].scrollIntoView({ block: "start" });
    bots = rows.length;
  }).observe(document.documentElement, { childList: true, subtree: true });
})();
</script>"""


class ChatService:
    """The chat logic, shared by the full page and the widget; no Gradio layout in here."""

    channel = "chat"  # question-log channel; the widget's copy says "widget" (with_channel)
    question_log = None  # set by create_app

    def with_channel(self, channel: str) -> "ChatService":
        twin = copy.copy(self)
        twin.channel = channel
        return twin

    def __init__(self, assistant, limiter: RateLimiter, figures: FigureStore, settings, readiness=None):
        self.assistant = assistant
        self.readiness = readiness
        self.limiter = limiter
        self.figures = figures
        self.settings = settings
        self.max_question_chars = settings.max_question_chars

    def _admit(self, request: gr.Request | None) -> None:
        client = getattr(getattr(request, "client", None), "host", None) or "unknown"
        wait = self.limiter.hit(client)
        if wait:
            message, hint = self.limiter.message(wait)
            raise gr.Error(f"{message} {hint}", title=TITLE_BUSY)

    def _check(self, question, request: gr.Request | None) -> None:
        """Refuse before anything is shown, so a refused question stays in the textbox to be fixed."""
        from glossarian.assistant import validate_question
        from glossarian.errors import InputError

        self._admit(request)
        try:
            validate_question(question, self.max_question_chars)
        except InputError as exc:
            raise gr.Error(escape_html(f"{exc.message} {exc.hint or ''}"), title=TITLE_INPUT) from None

    def _wait_until_ready(self, question: str) -> None:
        """Wait for start-up (bounded); a server that cannot answer says why instead of hanging."""
        from glossarian.lang import detect_language

        if self.readiness is None or self.readiness.wait(START_WAIT_S):
            return
        message, hint = self.readiness.waiting_message(detect_language(question))
        raise gr.Error(escape_html(f"{message} {hint}"), title="Glossarian")

    def _starting_notice(self, question: str) -> str | None:
        """The line shown while a question waits for start-up, or None when the server is ready."""
        from glossarian.lang import detect_language

        if self.readiness is None or self.readiness.ready:
            return None
        return self.readiness.waiting_message(detect_language(question))[0]

    def _answers(self, question: str, turns: list[dict]) -> Iterator:
        from glossarian.assistant import Turn
        from glossarian.errors import InputError

        history = [Turn.from_dict(t) for t in turns[-MAX_TURNS_SENT:]]
        try:
            yield from self.assistant.stream(question, history)
        except InputError as exc:
            raise gr.Error(escape_html(f"{exc.message} {exc.hint or ''}"), title=TITLE_INPUT) from None
        except GlossarianError as exc:  # index or model trouble: the server's
            raise gr.Error(escape_html(f"{exc.message} {exc.hint or ''}"), title=TITLE_SERVER) from None
        except Exception:
            log.exception("Unexpected error while answering %r", question[:200])
            raise gr.Error("Something went wrong on the server; it was logged.", title=TITLE_SERVER) from None

    def respond(self, question: str, chat: list, turns: list[dict], request: gr.Request):
        """Stream (textbox, chat messages twice: shown and kept, turns) for one question; the textbox stays
        locked until the end. `chat` is the server's copy of the messages, never the browser's."""
        from glossarian.history import fit_history

        from glossarian.assistant import Turn

        self._check(question, request)
        started = time.perf_counter()
        turn_id = uuid.uuid4().hex[:10]
        chat = chat or []
        shown = [*chat, gr.ChatMessage(role="user", content=escape_markdown(question))]
        yield _locked(), shown, chat, turns  # the question shows at once; Gradio adds a "thinking" bubble
        notice = self._starting_notice(question)
        if notice:  # never a silent wait on a cold model
            yield _locked(), [*shown, gr.ChatMessage(role="assistant", content=escape_markdown(notice))], chat, turns
            self._wait_until_ready(question)
        previous = None
        # The chat's own long answers are cut to the history bounds rather than refused.
        for answer in self._answers(question, fit_history(turns or [], self.settings)):
            if previous is not None:  # one step behind, so the last one goes out once
                yield _locked(), [*shown, *answer_messages(previous, self.figures, turn_id)], chat, turns
            previous = answer
        if previous is None:
            return
        messages = answer_messages(previous, self.figures, turn_id)
        answer_id = record_answer(self.question_log, previous, self.channel, started,
                                  page_from_referer((getattr(request, "headers", None) or {}).get("referer")), _client(request))
        # answer_id and the answer's message span let a 👍/👎 on any of its messages find it (like_handler)
        turns = [*(turns or []), {"role": "user", "content": previous.question},
                 {**Turn.of_answer(previous).to_dict(), "answer_id": answer_id,
                  "messages": [len(shown), len(shown) + len(messages)]}]
        shown = [*shown, *messages]
        yield _locked(), shown, shown, turns

    def api_chat(self, message: str, history: list[dict] | None = None, request: gr.Request = None) -> str:
        """Ask the glossary in Chinese or English; returns the cited answer (Markdown) with its sources listed."""
        self._check(message, request)
        if history is not None and not isinstance(history, list):
            raise gr.Error(f"history must be a list of turns, not {type(history).__name__}.", title=TITLE_INPUT)
        started = time.perf_counter()
        turns = [t for t in history or [] if isinstance(t, dict) and t.get("role") in ("user", "assistant")
                 and isinstance(t.get("content"), str)]
        self._wait_until_ready(message)
        answer = None
        for answer in self._answers(message, turns):
            pass
        record_answer(self.question_log, answer, "api", started, None, _client(request))
        sources = "\n".join(f"[{n}] {h.entry.id}: {h.entry.term_zh} / {h.entry.term_en}"
                            for n, h in enumerate(answer.sources, 1))
        return answer.answer + (f"\n\nSources:\n{sources}" if sources else "")


def build_chat(service: ChatService, compact: bool = False, delete_cache: tuple[int, int] | None = None) -> gr.Blocks:
    """The full chat page, or (compact) the small one the wiki widget frames."""
    service = service.with_channel("widget" if compact else "chat")
    with gr.Blocks(title="Glossarian", analytics_enabled=False, fill_height=True,
                   delete_cache=delete_cache) as blocks:
        if not compact:  # the widget's frame has the wiki panel's title bar above it: one title is enough
            gr.Markdown(INTRO, elem_classes=["glossarian-intro"])
        chatbot = gr.Chatbot(
            label="Glossarian", show_label=False, scale=1,  # with fill_height, scale=1 fills the window
            autoscroll=False,  # CHAT_HEAD scrolls each new answer to its start instead of following its end
            examples=[{"text": q} for q in (EXAMPLES[:2] + EXAMPLES[4:5] if compact else EXAMPLES)],
            buttons=["copy", "copy_all"], feedback_options=CHAT_FEEDBACK, allow_tags=False,
            placeholder="问一个术语 · Ask about a term",
        )
        turns = gr.State([])
        kept = gr.State([])  # the messages shown, kept here so the browser never has to send them back
        with gr.Row(equal_height=True):
            box = gr.Textbox(show_label=False, submit_btn=True, lines=1, max_lines=6, scale=8,
                             placeholder="问一个术语 · Ask a term" if compact
                             else "例如：什么是 GAP？ / e.g. What is a backbone?", autofocus=not compact)
            # The widget is narrow: there the chatbot's own trash icon is the clear button.
            clear = None if compact else gr.Button("清空 · Clear", variant="secondary", size="sm", scale=1,
                                                       min_width=90, elem_classes=["glossarian-clear"])

        inputs, outputs = [box, kept, turns], [box, chatbot, kept, turns]
        # .then runs after errors too, so the textbox always comes back.
        box.submit(service.respond, inputs, outputs, api_visibility="undocumented").then(
            _unlock, None, box, api_visibility="undocumented", queue=False)
        chatbot.example_select(_example_text, None, box, api_visibility="undocumented", queue=False).then(
            service.respond, inputs, outputs, api_visibility="undocumented").then(
            _unlock, None, box, api_visibility="undocumented", queue=False)
        if clear is not None:
            clear.click(lambda: ("", [], [], []), None, outputs, api_visibility="undocumented", queue=False)
        chatbot.clear(lambda: ([], []), None, [kept, turns], api_visibility="undocumented", queue=False)
        chatbot.like(like_handler(service), [turns], None, api_visibility="undocumented")  # queued: its toast shows
        if not compact:
            gr.api(service.api_chat, api_name="chat")
    return blocks


def _client(request) -> str | None:
    return getattr(getattr(request, "client", None), "host", None)


def _example_text(evt: gr.SelectData) -> str:
    return evt.value["text"]


def _locked():
    return gr.update(value="", interactive=False)  # a fresh dict each time: Gradio consumes updates


def _unlock():
    return gr.update(interactive=True)
