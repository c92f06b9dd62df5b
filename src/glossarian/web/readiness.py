"""Server readiness: load the model and the index in the background so the port opens at once, and say
which phase the server is in (loading → building-index → ready, or degraded) until it can answer.

/healthz (readiness; 503 until the first question can be answered in normal time) and /livez (liveness,
always 200 while the process serves HTTP) read this object; /api/ask and the chat consult it so no
question silently waits on a cold model.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

log = logging.getLogger("glossarian.web")

LOADING, BUILDING, READY, DEGRADED = "loading", "building-index", "ready", "degraded"
# What a client should wait before asking again while the server starts (model load is ~3-10 s here).
RETRY_AFTER_S = 5


def memory_mb() -> dict:
    """This process's resident memory now and at its peak (Linux /proc), in MB: the cost of one worker."""
    out = {}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                out["rss_mb" if line.startswith("VmRSS") else "peak_rss_mb"] = round(int(line.split()[1]) / 1024, 1)
    except OSError:  # not Linux
        pass
    return out


class Readiness:
    """The start-up phases of one server process; `start()` runs them on a daemon thread."""

    def __init__(self, assistant):
        self.assistant = assistant
        self.state = LOADING
        self.error: str | None = None
        self.started = time.monotonic()
        self.ready_in: float | None = None
        self._done = threading.Event()

    def _index_exists(self) -> bool:
        return os.path.lexists(Path(self.assistant.settings.index) / "current")

    def _run(self) -> None:
        try:
            self.assistant.embedder  # noqa: B018 -- the slow part: imports torch + sentence-transformers, loads weights
            if not self._index_exists():
                self.state = BUILDING
                log.warning("No index yet in %s: building it now (about 1 s per entry on 2 cores).",
                            self.assistant.settings.index)
            self.assistant.warm_up()  # loads (or builds) the index and answers one query
            self.ready_in = time.monotonic() - self.started
            self.state = READY
            log.info("Glossarian is ready in %.1f s (process %d, %s MB resident).", self.ready_in, os.getpid(),
                     memory_mb().get("rss_mb", "?"))
        except Exception as exc:  # the server stays up and says why it cannot answer
            self.state, self.error = DEGRADED, str(exc)
            log.error("Start-up failed, the server cannot answer yet: %s", exc)
        finally:
            self._done.set()

    def start(self) -> "Readiness":
        threading.Thread(target=self._run, name="glossarian-start", daemon=True).start()
        return self

    @property
    def ready(self) -> bool:
        return self.state == READY

    def wait(self, timeout: float) -> bool:
        """Block until start-up has finished (either way) or `timeout` passed; True when ready."""
        self._done.wait(timeout)
        return self.ready

    def waiting_message(self, lang: str) -> tuple[str, str]:
        """(message, hint) for a question that arrives before the server is ready."""
        if self.state == DEGRADED:
            return (f"Glossarian cannot answer: {self.error}" if lang == "en" else f"Glossarian 暂时无法回答：{self.error}",
                    "See the server log; /healthz shows the state.")
        phase = {LOADING: ("loading the embedding model", "正在加载嵌入模型"),
                 BUILDING: ("building the index for the first time", "正在首次构建索引")}[self.state]
        if lang == "zh":
            return f"Glossarian 正在启动（{phase[1]}），请几秒后再问。", f"{RETRY_AFTER_S} 秒后重试；/healthz 显示进度。"
        return (f"Glossarian is starting ({phase[0]}); ask again in a few seconds.",
                f"Retry after {RETRY_AFTER_S} s; /healthz shows progress.")

    def report(self) -> tuple[int, dict]:
        """(HTTP status, body) for /healthz: 503 until ready; 200 when ready, status 'degraded' (still 200) when
        it answers from the last good index but a newer one was refused or the index is stale."""
        body = {"status": self.state, "ready": self.ready,
                "uptime_s": round(time.monotonic() - self.started, 1), "pid": os.getpid(), **memory_mb()}
        if self.ready_in is not None:
            body["ready_in_s"] = round(self.ready_in, 1)
        if self.state == DEGRADED:
            body["error"] = self.error
            return 503, body
        if not self.ready:
            return 503, body
        info = self.assistant.health()
        body.update(info)
        if "error" in info or info.get("reload_error") or info.get("stale"):
            body["status"] = DEGRADED
        return (503 if "error" in info else 200), body
