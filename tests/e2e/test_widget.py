"""The script widget (embed.js) on plain pages: the page is left alone, configuration through data-* and
Glossarian.init, the conversation across page loads, clear states (refused origin, server unreachable),
Escape, payloads shown as text, and the main chat's layout at desktop and phone sizes.

Screenshots go to test-artifacts/widget-*.png and chat-*.png for a human to look at.
"""
from __future__ import annotations

import re

import pytest

from conftest import free_port, static_site
from helpers import needs_chromium
from widget_driver import ANSWER_TIMEOUT_MS, ask, expect, widget

pytestmark = [pytest.mark.e2e, pytest.mark.slow, needs_chromium]

PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>Team wiki</title>
<style>
  body {{ font-family: serif; margin: 40px; }}
  button {{ background: rgb(255, 0, 0); color: white; }}
  span {{ color: rgb(0, 128, 0); }}
</style>
<script>window.__globalsBefore = Object.keys(window);</script>
</head><body>
<main><h1>团队 Wiki · Team wiki</h1>
<p id="intro">Our detector uses a pretrained backbone and ends with GAP. 推理时调低温度系数。</p>
<button id="page-button">A page button</button>
</main>
{embed}
</body></html>
"""
EMBED = '<script src="{app}/embed.js" {attrs} async></script>'
# What jQuery's getScript / mw.loader.getScript do for a same-origin URL: fetch the text and eval it.
EVAL = """<script>
fetch("{app}/embed.js").then(r => r.text()).then(code => {{ (0, eval)(code); Glossarian.init({{server: "{app}/"}}); }});
</script>"""


@pytest.fixture(scope="module")
def pages(ports, app_url, sites, tmp_path_factory):
    """Test pages on the allowed "widget" origin and on the refused "evil" origin (served by conftest)."""
    folder = tmp_path_factory.mktemp("widget")
    dead = f"http://127.0.0.1:{free_port()}/"  # nothing listens here: a stopped server
    variants = {
        "plain.html": ("zh", EMBED.format(app=app_url, attrs="")),
        "configured.html": ("en", EMBED.format(app=app_url, attrs='data-position="bottom-left" data-label="Ask the glossary" '
                                                              'data-theme="dark" data-open="true" data-highlight="false"')),
        "eval.html": ("en", EVAL.format(app=app_url)),
        "stopped.html": ("en", EMBED.format(app=app_url, attrs=f'data-server="{dead}"')),
    }
    for name, (lang, embed) in variants.items():
        (folder / name).write_text(PAGE.format(lang=lang, embed=embed), encoding="utf-8")
    server = static_site(folder, ports["widget"])
    yield f"http://127.0.0.1:{ports['widget']}"
    server.shutdown()


def test_the_widget_leaves_the_page_alone_and_answers(page, pages, artifacts):
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(pages + "/plain.html")
    launcher = widget(page, "launcher")
    expect()(launcher).to_be_visible()
    expect()(page.locator('glossarian-term[data-glossarian-term="temperature"]')).to_have_text("温度系数")
    added = page.evaluate("Object.keys(window).filter(k => !window.__globalsBefore.includes(k))")
    assert sorted(added) == ["Glossarian", "GlossarianTerms", "__globalsBefore"]  # the last is the page's own
    assert page.evaluate("getComputedStyle(document.querySelector('#page-button')).backgroundColor") == "rgb(255, 0, 0)"
    assert page.evaluate("getComputedStyle(document.body).margin") == "40px"
    assert launcher.evaluate("b => getComputedStyle(b).backgroundColor") != "rgb(255, 0, 0)"
    colours = page.locator("glossarian-term").evaluate_all("ms => ms.map(m => getComputedStyle(m).color)")
    assert len(colours) >= 3 and set(colours) == {page.evaluate("getComputedStyle(intro).color")}  # the text's own

    launcher.click()
    ask(page, "什么是骨干网络？", "骨干网络（Backbone）", "[1]")
    page.screenshot(path=str(artifacts / "widget-answer.png"))
    widget(page, "answer").last.locator("a.cite").first.click()  # [1] opens its source card
    expect()(widget(page, "answer").last.locator("#src-1-1")).to_be_visible()
    expect()(widget(page, "answer").last.locator("#src-1-1")).not_to_contain_text("0.")  # no raw score

    widget(page, "input").focus()
    page.keyboard.press("Escape")  # typing in the panel, Escape still closes it (no iframe swallows it)
    expect()(widget(page, "panel")).to_be_hidden()
    page.reload()  # closed panels stay closed; the conversation is still there when it opens
    expect()(widget(page, "panel")).to_be_hidden()
    launcher = widget(page, "launcher")
    launcher.click()
    expect()(widget(page, "log")).to_contain_text("骨干网络（Backbone）")


def test_settings_from_data_attributes(page, pages, artifacts):
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(pages + "/configured.html")
    panel = widget(page, "panel")
    expect()(panel).to_be_visible()  # data-open="true"
    expect()(panel).to_contain_text("Ask the glossary")
    assert panel.bounding_box()["x"] < 100  # bottom-left
    assert panel.evaluate("p => getComputedStyle(p).backgroundColor") != "rgb(255, 255, 255)"  # dark
    expect()(widget(page, "example").first).to_contain_text("What is")  # the page is lang=en
    page.wait_for_timeout(500)
    assert page.locator("glossarian-term").count() == 0  # data-highlight="false"
    page.screenshot(path=str(artifacts / "widget-configured-dark-left.png"))


def test_a_script_run_by_eval_starts_with_init(page, pages):
    page.goto(pages + "/eval.html")
    expect()(widget(page, "launcher")).to_be_visible(timeout=20_000)
    expect()(page.locator('glossarian-term[data-glossarian-term="backbone"]')).to_have_text("backbone")


def test_a_stopped_server_says_unreachable_and_retries(page, pages, artifacts):
    page.goto(pages + "/stopped.html")
    widget(page, "launcher").click()
    status = widget(page, "status")
    expect()(status).to_contain_text("unreachable, retrying", timeout=20_000)
    expect()(widget(page, "example").first).to_be_visible()  # never an empty panel
    page.screenshot(path=str(artifacts / "widget-unreachable.png"))


def test_a_refused_origin_is_told_which_setting_to_change(page, sites, app_url, artifacts):
    page.goto(sites["evil"] + "/script.html")
    widget(page, "launcher").click()
    status = widget(page, "status")
    expect()(status).to_contain_text("GLOSSARIAN_ALLOWED_ORIGINS", timeout=20_000)
    expect()(status).to_contain_text(sites["evil"])
    expect()(widget(page, "input")).to_be_disabled()
    page.screenshot(path=str(artifacts / "widget-refused.png"))


def test_payloads_in_questions_and_entries_show_as_text_in_the_widget(page, pages):
    page.goto(pages + "/plain.html")
    widget(page, "launcher").click()
    widget(page, "new").click()
    ask(page, '探针术语是什么？<img src=x onerror="window.__xssW=1">', "<script>window.__xssZh=1</script>")
    expect()(widget(page, "log")).to_contain_text('<img src=x onerror="window.__xssW=1">')
    assert page.evaluate("['__xssW', '__xssZh', '__xssImgZh'].filter(k => k in window)") == []
    assert widget(page, "log").locator("script, img").count() == 0


@pytest.mark.parametrize("size", [(1280, 800), (390, 844)], ids=["desktop", "phone"])
def test_main_chat_layout(page, app_url, artifacts, size):
    width, height = size
    page.set_viewport_size({"width": width, "height": height})
    page.goto(app_url + "/")
    box = page.get_by_role("textbox")
    box.fill("什么是骨干网络？")
    box.press("Enter")
    log = page.locator('[role="log"]')
    expect()(log).to_contain_text("骨干网络（Backbone）", timeout=ANSWER_TIMEOUT_MS)
    expect()(box).to_be_editable(timeout=ANSWER_TIMEOUT_MS)
    page.wait_for_timeout(800)
    bot = page.locator('[data-testid="bot"]').last
    assert bot.bounding_box()["width"] <= 800  # a readable column, not the full window
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert not re.search(r"相关度 \d", log.inner_text())  # source cards carry no raw score
    assert page.locator('button[title="Share"], [aria-label="Share"]').count() == 0
    log.locator('a[href="#source-1"]').first.click()  # a citation opens its source card
    name = "[1] 骨干网络 · Backbone"
    expect()(log.locator(".thought-group .title", has_text=name).last).to_have_class(re.compile(r"\bexpanded\b"))
    card = log.locator(".thought-group", has=page.locator(".title", has_text=name)).last  # innermost: the card
    expect()(card.locator(".content")).to_be_visible()
    assert len(card.locator(".content").inner_text().strip()) > 10  # the entry's first sentence
    page.wait_for_timeout(600)
    page.screenshot(path=str(artifacts / f"chat-{'desktop' if width > 600 else 'phone'}.png"))
