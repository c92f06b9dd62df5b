"""The README's MediaWiki recipe, end to end: Debian's MediaWiki 1.39 on SQLite served by `php -S`, the
recipe's line saved to MediaWiki:Common.js, and a reader in Chromium (launcher, term marks, hover card,
"ask more", a follow-up after a page change, a refused hostname, phone layout, print).

`scripts/test.sh` installs mediawiki, php-cli and php-sqlite3 when run as root; otherwise this is skipped.
Screenshots go to test-artifacts/mediawiki-*.png.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from helpers import needs_chromium
from widget_driver import ANSWER_TIMEOUT_MS, ask, expect, last_answer, widget

REPO = Path(__file__).resolve().parents[2]
MEDIAWIKI = Path("/usr/share/mediawiki")
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    needs_chromium,
    pytest.mark.skipif(not (MEDIAWIKI / "maintenance" / "install.php").exists() or not shutil.which("php"),
                       reason="Debian's MediaWiki is not installed: run scripts/test.sh as root, or "
                              "apt-get install --no-install-recommends mediawiki php-sqlite3 php-cli"),
]

ONBOARDING = """Our detection models share one '''backbone''' and a small head. 我们的检测模型共用一个骨干网络。

== Pooling ==
The classifier ends with GAP before the linear layer; mind the gap between train and test.

== 采样 ==
生成时把温度系数调低，输出更确定。

<pre>
backbone = resnet50()
</pre>
"""
RELEASE_NOTES = "Release 2.3 moves the training jobs to the new cluster. 新集群上线。\n"


def readme_recipe(app_url: str) -> str:
    """The MediaWiki:Common.js line exactly as the README gives it, pointed at the test server."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("**MediaWiki**"):]
    line = re.search(r"```js\n(mw\.loader\.load\(.*?\);)\n```", section).group(1)
    return line.replace("https://glossarian.example.com", app_url)


def php(*args: str, env: dict, stdin: str | None = None) -> None:
    subprocess.run(["php", *args], cwd=MEDIAWIKI, env=env, input=stdin, text=True, check=True,
                   capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def wiki(ports, app_url, tmp_path_factory):
    """A fresh wiki on 127.0.0.1 with the recipe in Common.js and two pages; yields its base URL."""
    folder = tmp_path_factory.mktemp("mediawiki")
    port = ports["mediawiki"]
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "MW_CONFIG_FILE": str(folder / "LocalSettings.php")}
    (folder / "db").mkdir()
    php("maintenance/install.php", "--dbtype", "sqlite", "--dbpath", str(folder / "db"), "--server", base,
        "--scriptpath", "", "--confpath", str(folder), "--lang", "en", "--pass", "glossarian-test-password",
        "Team Wiki", "Admin", env=env)
    php("maintenance/edit.php", "-u", "Admin", "--summary", "Glossarian widget", "MediaWiki:Common.js",
        env=env, stdin=readme_recipe(app_url) + "\n")
    php("maintenance/edit.php", "-u", "Admin", "Team_onboarding", env=env, stdin=ONBOARDING)
    php("maintenance/edit.php", "-u", "Admin", "Release_notes", env=env, stdin=RELEASE_NOTES)
    # 0.0.0.0 so the same wiki also answers as http://localhost:PORT, an origin the server does not allow.
    log = open(folder / "php.log", "w")
    server = subprocess.Popen(["php", "-S", f"0.0.0.0:{port}", "-t", str(MEDIAWIKI)], cwd=MEDIAWIKI, env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base + "/index.php?title=Team_onboarding", timeout=10).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("php -S did not serve the wiki:\n" + (folder / "php.log").read_text())
            time.sleep(0.3)
        yield base
    finally:
        server.terminate()
        server.wait(10)
        log.close()


def snap(page, path: Path) -> None:
    page.wait_for_timeout(400)
    page.screenshot(path=str(path))


def test_readme_recipe_gives_launcher_marks_and_hover_card(page, wiki, artifacts):
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(wiki + "/index.php?title=Team_onboarding")
    expect()(widget(page, "launcher")).to_be_visible(timeout=30_000)
    content = page.locator(".mw-parser-output")
    for entry, text in (("backbone", "backbone"), ("global-average-pooling", "GAP"), ("temperature", "温度系数")):
        expect()(content.locator(f'glossarian-term[data-glossarian-term="{entry}"]').first).to_have_text(text)
    assert content.locator("pre glossarian-term").count() == 0  # code is left alone
    assert "mind the gap" in content.inner_text()  # lower-case "gap" is an ordinary word
    assert content.locator("glossarian-term", has_text=re.compile("^gap$")).count() == 0
    stats = page.evaluate("Glossarian.stats")
    print(f"\nMediaWiki page scan: {stats['marks']} marks in {stats['ms']:.1f} ms "
          f"(term list compiled in {stats['compileMs']:.1f} ms)")

    content.locator('glossarian-term[data-glossarian-term="global-average-pooling"]').hover()
    card = widget(page, "card")
    expect()(card).to_be_visible()
    expect()(card).to_contain_text("全局平均池化 · Global Average Pooling")
    expect()(card).to_contain_text("GAP")  # the first sentence of the English definition (the page is lang=en)
    snap(page, artifacts / "mediawiki-hover-card.png")

    widget(page, "ask-more").click()
    expect()(widget(page, "panel")).to_be_visible()
    expect()(last_answer(page)).to_contain_text("Global Average Pooling", timeout=ANSWER_TIMEOUT_MS)
    expect()(last_answer(page)).to_contain_text("[1]")
    snap(page, artifacts / "mediawiki-ask-more.png")

    page.keyboard.press("Escape")  # focus is in the panel's textbox: Escape still closes it
    expect()(widget(page, "panel")).to_be_hidden()


def test_a_follow_up_after_a_page_change_keeps_its_subject(page, wiki, artifacts):
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(wiki + "/index.php?title=Team_onboarding")
    widget(page, "launcher").click()
    widget(page, "new").click()
    ask(page, "什么是 backbone？", "骨干网络")

    page.goto(wiki + "/index.php?title=Release_notes")  # a real navigation: a new document
    expect()(widget(page, "panel")).to_be_visible(timeout=30_000)  # it was open, so it reopens
    expect()(widget(page, "log")).to_contain_text("什么是 backbone？")
    ask(page, "那它和 neck 有什么区别？", "骨干网络")
    expect()(last_answer(page)).to_contain_text(re.compile("颈部|neck", re.I))
    snap(page, artifacts / "mediawiki-follow-up-after-navigation.png")

    widget(page, "new").click()
    expect()(widget(page, "log")).not_to_contain_text("什么是 backbone？")
    expect()(widget(page, "example").first).to_be_visible()


def test_a_hostname_missing_from_the_allow_list_is_named_in_the_panel(page, wiki, artifacts):
    other = wiki.replace("127.0.0.1", "localhost")  # the same wiki under a name the admin forgot
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(other + "/index.php?title=Team_onboarding")
    widget(page, "launcher").click()
    status = widget(page, "status")
    expect()(status).to_contain_text("GLOSSARIAN_ALLOWED_ORIGINS", timeout=30_000)
    expect()(status).to_contain_text(other)
    expect()(widget(page, "input")).to_be_disabled()
    assert page.locator("glossarian-term").count() == 0
    snap(page, artifacts / "mediawiki-refused-origin.png")


def test_phone_layout_and_print(page, wiki, artifacts):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(wiki + "/index.php?title=Team_onboarding&useskin=minerva")
    widget(page, "launcher").click()
    widget(page, "new").click()
    ask(page, "What is GAP?", "Global Average Pooling")
    box = widget(page, "panel").bounding_box()
    assert box["width"] == 390 and box["height"] == 844  # a full-screen sheet on a phone
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    snap(page, artifacts / "mediawiki-phone.png")

    page.keyboard.press("Escape")
    page.emulate_media(media="print")
    expect()(widget(page, "launcher")).to_be_hidden()
    mark = page.locator("glossarian-term").first
    assert mark.evaluate("m => getComputedStyle(m).textDecorationLine") == "none"
    page.emulate_media(media="screen")
    assert mark.evaluate("m => getComputedStyle(m).textDecorationLine") == "underline"
