"""What a reader sees in Chromium: the chat, tool blocks with figures, the wiki embeds, origin refusal, XSS.

Screenshots go to test-artifacts/ for a human to look at.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from helpers import needs_chromium

pytestmark = [pytest.mark.e2e, pytest.mark.slow, needs_chromium]

ANSWER_TIMEOUT_MS = 60_000
PAYLOAD_FLAGS = ["__xssQ", "__xssQImg", "__xssZh", "__xssImgZh", "__xssEn", "__xssImgEn"]


def expect():
    from playwright.sync_api import expect as _expect

    return _expect


def ask(scope, question: str):
    """Type a question into the chat (a page or a frame) and return the locator of the last bot reply."""
    box = scope.get_by_role("textbox")
    box.fill(question)
    box.press("Enter")
    return scope.locator('[data-testid="bot"]')


def wait_for_answer(scope, *texts: str):
    """Wait for the texts, then for the answer to finish streaming (the textbox unlocks)."""
    log = scope.locator('[role="log"]')
    for text in texts:
        expect()(log).to_contain_text(text, timeout=ANSWER_TIMEOUT_MS)
    expect()(scope.get_by_role("textbox")).to_be_editable(timeout=ANSWER_TIMEOUT_MS)
    return log


def open_block(title) -> None:
    """Expand a collapsible chat block (tool call, sources, source card) by its title."""
    for _ in range(3):
        if "expanded" in (title.get_attribute("class") or ""):
            break
        title.click()
        title.page.wait_for_timeout(400)  # the block slides open; the chat may scroll meanwhile
    expect()(title).to_have_class(re.compile(r"\bexpanded\b"))


def assert_figure_shown(log) -> None:
    """The tool's figure is an image in the conversation, and it actually loaded."""
    figure = log.locator('img[src*="/gradio_api/file="]').first
    figure.scroll_into_view_if_needed(timeout=ANSWER_TIMEOUT_MS)  # it is lazy-loaded
    expect()(figure).to_be_visible()
    handle = figure.element_handle()
    handle.owner_frame().wait_for_function("img => img.complete && img.naturalWidth > 100", arg=handle)


def snap(page, path: Path) -> None:
    page.wait_for_timeout(800)  # let the accordions finish sliding open before the picture
    page.screenshot(path=str(path))


def assert_no_payload_ran(page):
    flags = page.evaluate(f"() => {json.dumps(PAYLOAD_FLAGS)}.filter(k => k in window)")
    assert flags == [], f"payload code ran: {flags}"


def test_chat_answers_chinese_and_english_with_citations(page, app_url, artifacts):
    page.goto(app_url + "/")
    ask(page, "什么是骨干网络？")
    wait_for_answer(page, "骨干网络（Backbone）", "[1]", "来源 (1)")
    ask(page, "What is a feature pyramid network?")
    log = wait_for_answer(page, "Feature Pyramid Network", "Sources (")
    # The sources are cards: open the last one and read the entry's names and first sentence (no raw score).
    open_block(log.locator(".thought-group .title", has_text="Sources").last)
    name = "特征金字塔网络 · Feature Pyramid Network"
    title = log.locator(".thought-group .title", has_text=name)
    expect()(title).not_to_contain_text("score")
    open_block(title)
    card = log.locator(".thought-group", has=page.locator(".title", has_text=name)).last  # innermost: the card
    expect()(card.locator(".content")).to_be_visible()
    expect()(card.locator(".content")).to_contain_text("proposed by Lin et al.")
    snap(page, artifacts / "chat-zh-en.png")


def test_follow_up_and_clear(page, app_url):
    page.goto(app_url + "/")
    ask(page, "什么是骨干网络？")
    wait_for_answer(page, "骨干网络（Backbone）")
    ask(page, "它通常用什么学习率？")
    wait_for_answer(page, "学习率")
    last_reply = page.locator(".bot-row").last  # the follow-up's answer still knows its subject
    expect()(last_reply).to_contain_text("骨干网络")
    page.get_by_role("button", name="清空 · Clear").click()
    expect()(page.locator('[data-testid="bot"]')).to_have_count(0)


def test_each_browser_session_has_its_own_conversation(browser, app_url):
    first, second = browser.new_page(), browser.new_page()
    try:
        for p in (first, second):
            p.goto(app_url + "/")
        ask(first, "什么是骨干网络？")
        wait_for_answer(first, "骨干网络（Backbone）")
        ask(second, "它通常用什么学习率？")  # "it" means nothing in this session
        wait_for_answer(second, "学习率")
        expect()(second.locator(".bot-row").last).not_to_contain_text("骨干网络")
    finally:
        first.close()
        second.close()


@pytest.mark.parametrize("too_long, explained", [("为什么" * 1000, "问题有 3000 个字符，上限是 2000"),
                                                  ("why " * 749 + "why?", "The question is 3000 characters long; the limit is 2000")],
                         ids=["zh", "en"])
def test_refused_question_is_explained_and_kept(page, app_url, too_long, explained):
    page.goto(app_url + "/")
    ask(page, too_long)
    expect()(page.get_by_text(explained).first).to_be_visible()  # in the question's language
    expect()(page.get_by_role("textbox")).to_have_value(too_long)  # still there, to be shortened
    expect()(page.locator('[data-testid="user"]')).to_have_count(0)
    assert not any("Traceback" in line for line in page.console_lines)


def test_computation_shows_the_tool_block_and_its_figure(page, app_url, artifacts):
    page.goto(app_url + "/")
    ask(page, "算一下 [1,2,3] 温度 0.5 的 softmax")
    log = wait_for_answer(page, "0.8668")
    title = log.locator(".thought-group .title", has_text="softmax")
    expect()(title.first).to_contain_text("工具")
    expect()(title.first).to_contain_text("done")
    assert_figure_shown(log)
    open_block(title.first)
    expect()(log.locator("pre code", has_text="torch").first).to_be_visible()  # the code that ran
    snap(page, artifacts / "chat-tool.png")


# The script embed (embed.js) is tested in test_widget.py and test_mediawiki.py.


def test_iframe_embed_on_an_allowed_wiki(page, sites, artifacts):
    page.goto(sites["wiki"] + "/iframe.html")
    frame = page.frame_locator("#glossary")
    ask(frame, "softmax of [1, 2, 3] at temperature 0.5")
    log = wait_for_answer(frame, "0.8668", "Sources")
    assert_figure_shown(log)
    snap(page, artifacts / "wiki-iframe-embed.png")


def test_web_component_works_without_a_cdn(page, sites, artifacts):
    page.goto(sites["wiki"] + "/component.html")
    app = page.locator("gradio-app")
    ask(app, "什么是骨干网络？")
    wait_for_answer(app, "骨干网络（Backbone）")
    snap(page, artifacts / "wiki-web-component.png")


def test_api_from_an_allowed_origin_is_readable(page, sites, app_url):
    page.goto(sites["wiki"] + "/iframe.html")
    result = page.evaluate(FETCH_ASK, app_url + "/api/ask")
    assert result.startswith("ok:") and "backbone" in result


FETCH_ASK = """url => fetch(url, {method: "POST", headers: {"Content-Type": "application/json"},
                                  body: JSON.stringify({question: "什么是骨干网络？"})})
    .then(r => r.text().then(t => "ok:" + r.status + ":" + t), e => "blocked:" + e)"""


def test_a_disallowed_origin_can_neither_frame_nor_call(page, sites, app_url, artifacts):
    page.goto(sites["evil"] + "/iframe.html")
    page.wait_for_timeout(1500)
    assert page.frame_locator("#glossary").locator("textarea").count() == 0
    assert any("frame-ancestors" in line for line in page.console_lines), page.console_lines
    snap(page, artifacts / "evil-refused.png")
    assert page.evaluate(FETCH_ASK, app_url + "/api/ask").startswith("blocked:")


QUESTION_PAYLOAD = ('探针术语是什么？<script>window.__xssQ=1</script>'
                    '<img src=x onerror="window.__xssQImg=1">')


def test_payloads_in_questions_and_entries_show_as_text(page, app_url, sites, artifacts):
    page.goto(app_url + "/")
    ask(page, QUESTION_PAYLOAD)
    log = wait_for_answer(page, "Probe Term", "<script>window.__xssZh=1</script>",
                          '<img src=x onerror="window.__xssImgZh=1">')
    user = page.locator('[data-testid="user"]').last
    expect()(user).to_contain_text("<script>window.__xssQ=1</script>")
    assert log.locator("script").count() == 0
    assert log.locator('img[src="x"]').count() == 0
    open_block(log.locator(".thought-group .title", has_text="来源").last)
    open_block(log.locator(".thought-group .title", has_text="探针术语").last)
    assert_no_payload_ran(page)
    snap(page, artifacts / "xss-chat.png")

    page.goto(sites["wiki"] + "/iframe.html")
    frame = page.frame_locator("#glossary")
    ask(frame, "What is a probe term?" + QUESTION_PAYLOAD[len("探针术语是什么？"):])
    wait_for_answer(frame, "<script>window.__xssEn=1</script>")
    widget = next(f for f in page.frames if f.url.startswith(app_url))
    assert_no_payload_ran(widget)
    assert_no_payload_ran(page)
    snap(page, artifacts / "xss-widget.png")
