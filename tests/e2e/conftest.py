"""Browser-test fixtures: the real server (`python -m glossarian serve`), two static "wiki" sites on other
origins (one allowed, one not), and Debian's Chromium driven by Playwright.

The server runs on a temporary copy of the corpus with one extra entry whose text carries HTML/JS payloads.
"""
from __future__ import annotations

import functools
import http.server
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import pytest

os.environ.setdefault("GLOSSARIAN_HOME", str(Path.home() / ".cache" / "glossarian"))

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"

PROBE_ENTRY = """---
id: xss-probe
term_en: Probe Term
term_zh: 探针术语
aliases: [probe term, 探针]
tags: [test]
asks:
  zh: [浏览器测试里那个带脚本的条目, 用来检查页面会不会执行条目里代码的词条, 测试跨站脚本用的假条目, 专门放 HTML 标签的测试词条]
  en: [the test entry that carries script tags, the entry that checks whether pages run code from the glossary,
       the fake entry used to test cross-site scripting, the glossary entry full of HTML tags]
---

## 中文
探针术语是一个测试条目：<script>window.__xssZh=1</script> 和 <img src=x onerror="window.__xssImgZh=1"> 都应原样显示为文字。

### 为什么
条目的文字来自 Markdown 文件，任何人都可能写进 HTML；页面必须把它当文字显示。

### 原理
服务端和浏览器端都按纯文本转义条目内容。

### 例子
问「探针术语是什么？」，回答里能看到上面的标签原文。

## English
A probe term is a test entry: <script>window.__xssEn=1</script> and <img src=x onerror="window.__xssImgEn=1"> must show as plain text.

### Why
Entry text comes from Markdown files that anyone may put HTML into; pages must show it as text.

### How it works
The server and the browser both escape entry text as plain text.

### Example
Ask "What is a probe term?" and the answer shows the tags above as written.
"""

# A wiki page with its own CSS, so the test can see that the embed changes nothing on it.
PAGE = """<!doctype html>
<html lang="zh"><head><meta charset="utf-8"><title>Team wiki</title>
<style>
  body {{ font-family: serif; margin: 40px; }}
  button {{ background: rgb(255, 0, 0); color: white; }}
  iframe {{ border: 4px solid green; }}
</style>
<script>window.__globalsBefore = Object.keys(window);</script>
</head><body>
<h1>团队 Wiki · Team wiki</h1>
<p>Notes about our detection models. 我们的检测模型笔记。</p>
<button id="page-button">A page button</button>
{embed}
</body></html>
"""
EMBEDS = {
    "script.html": '<script src="{app}/embed.js" async></script>',
    "iframe.html": '<iframe id="glossary" src="{app}/widget" title="Glossarian" width="420" height="620"></iframe>',
    "component.html": '<script type="module" src="{app}/gradio.js"></script>\n<gradio-app src="{app}/"></gradio-app>',
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def static_site(folder: Path, port: int) -> http.server.ThreadingHTTPServer:
    handler = functools.partial(QuietHandler, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


@pytest.fixture(scope="session")
def ports() -> dict[str, int]:
    # "widget" serves test_widget.py's pages and "mediawiki" the real wiki of test_mediawiki.py; both allowed.
    return {"app": free_port(), "wiki": free_port(), "evil": free_port(), "widget": free_port(), "mediawiki": free_port()}


@pytest.fixture(scope="session")
def app_url(ports, tmp_path_factory) -> str:
    """The real server on a corpus with the payload entry; only the "wiki" origin may embed it."""
    work = tmp_path_factory.mktemp("e2e")
    corpus = work / "corpus"
    shutil.copytree(REPO / "corpus", corpus)
    (corpus / "xss-probe.md").write_text(PROBE_ENTRY, encoding="utf-8")
    # GLOSSARIAN_E2E_INDEX=DIR keeps the index between runs (it is updated incrementally, not rebuilt).
    index = os.environ.get("GLOSSARIAN_E2E_INDEX") or str(work / "index")
    env = {**os.environ, "GLOSSARIAN_CORPUS": str(corpus), "GLOSSARIAN_INDEX": index,
           "GLOSSARIAN_ALLOWED_ORIGINS": ",".join(f"http://127.0.0.1:{ports[k]}" for k in ("wiki", "widget", "mediawiki")),
           "GLOSSARIAN_RATE_LIMIT": "1000",
           "GLOSSARIAN_LLM_BASE_URL": "", "GLOSSARIAN_API_TOKEN": "", "GLOSSARIAN_UI_AUTH": ""}
    log = open(work / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "glossarian", "serve", "--port", str(ports["app"])],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{ports['app']}"
    deadline = time.monotonic() + 1200  # the first start builds the index (minutes for 248 entries on 2 busy cores)
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError("server exited:\n" + (work / "server.log").read_text())
            try:
                if httpx.get(url + "/healthz").json().get("loaded"):
                    break
            except (httpx.HTTPError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not warm up:\n" + (work / "server.log").read_text())
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()


@pytest.fixture(scope="session")
def sites(ports, app_url, tmp_path_factory) -> dict[str, str]:
    """The same embedding pages on an allowed origin ("wiki") and a refused one ("evil")."""
    folder = tmp_path_factory.mktemp("wiki")
    for name, embed in EMBEDS.items():
        (folder / name).write_text(PAGE.format(embed=embed.format(app=app_url)), encoding="utf-8")
    servers = [static_site(folder, ports[name]) for name in ("wiki", "evil")]
    yield {name: f"http://127.0.0.1:{ports[name]}" for name in ("wiki", "evil")}
    for s in servers:
        s.shutdown()


@pytest.fixture
def page(browser):
    page = browser.new_page()
    page.console_lines = []
    page.on("console", lambda m: page.console_lines.append(m.text))
    yield page
    page.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
