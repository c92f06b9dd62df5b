"""In Chromium: a reader asks in the chat and in the widget and clicks 👎; the rows reach a real PostgreSQL;
a maintainer logs in to /admin and sees the report and its plot (screenshot in test-artifacts/)."""
from __future__ import annotations

import base64
import os
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from helpers import copy_entries, needs_chromium, running  # noqa: E402
from logdb import fresh_pg_database, pg, seed_row  # noqa: E402,F401  (fixtures)

pytestmark = [pytest.mark.e2e, pytest.mark.slow, needs_chromium]
TIMEOUT_MS = 60_000
ADMIN = ("maintainer", "a-long-admin-password")


def expect():
    from playwright.sync_api import expect as _expect

    return _expect


@pytest.fixture(scope="module")
def served(pg, tmp_path_factory):  # noqa: F811
    from glossarian.assistant import Assistant
    from glossarian.config import Settings
    from glossarian.questionlog import QuestionLog
    from glossarian.questionlog.store import Store
    from glossarian.web import create_app

    work = tmp_path_factory.mktemp("feedback-e2e")
    settings = Settings(home=Path(os.environ["GLOSSARIAN_HOME"]), corpus=copy_entries(work / "corpus"),
                        index=work / "index", rate_limit=0, admin_token=ADMIN[1])
    assistant = Assistant(settings)
    assistant.warm_up()
    log = QuestionLog(Store(fresh_pg_database(pg)))
    with running(create_app(settings, assistant, question_log=log)) as url:
        yield url, log
    log.close(1)


@pytest.fixture
def reader(browser):
    page = browser.new_page()
    page.set_extra_http_headers({"Authorization": "Basic " + base64.b64encode(":".join(ADMIN).encode()).decode()})
    yield page
    page.close()


def ask(scope, question: str) -> None:
    box = scope.get_by_role("textbox")
    box.fill(question)
    box.press("Enter")
    expect()(scope.locator('[role="log"]')).to_contain_text("[1]", timeout=TIMEOUT_MS)
    expect()(box).to_be_editable(timeout=TIMEOUT_MS)


def test_chat_and_widget_questions_and_a_thumbs_down_reach_the_log(served, reader):
    url, log = served
    reader.goto(url + "/")
    ask(reader, "What is a backbone?")
    dislike = reader.get_by_role("button", name=re.compile(r"dislike|不喜欢|踩", re.I)).last
    dislike.click()
    expect()(reader.get_by_text("Thanks for the feedback")).to_be_visible(timeout=TIMEOUT_MS)

    reader.goto(url + "/widget/?from=" + "https%3A%2F%2Fwiki.example.com%2Fwiki%2FDetection")
    ask(reader, "什么是 neck？")
    assert log.flush(30)
    rows = log.store.questions_since(None)
    by_channel = {r["channel"]: r for r in rows}
    assert by_channel["chat"]["question"] == "What is a backbone?" and by_channel["chat"]["top_entry"] == "backbone"
    assert by_channel["widget"]["page"] == "https://wiki.example.com/wiki/Detection"
    votes = log.store.feedback_since(None)
    assert [(v["answer_id"], v["rating"], v["channel"]) for v in votes] == [
        (by_channel["chat"]["answer_id"], -1, "chat")]


def test_admin_page_needs_the_login_and_shows_the_report(served, browser, reader, artifacts):
    url, log = served

    seeded = [seed_row(q, missing, None, days, lang) for q, missing, days, lang in (
        ("What is FlashAttention?", "FlashAttention", 0.2, "en"), ("FlashAttention 是什么", "FlashAttention", 1, "zh"),
        ("how does flash attention work", "flash attention", 2, "en"), ("What is SwiGLU?", "SwiGLU", 3, "en"),
        ("what is the weather like today", None, 4, "en"))]
    seeded += [seed_row("What is a backbone?", None, "backbone", d) for d in (0.5, 1, 1, 2, 5, 6)]
    log.store.insert_questions(seeded)

    # Without the login: 401 and a Basic challenge (a headful browser shows its login dialog; headless
    # Chromium aborts the navigation instead, so the request goes through the browser's request API).
    anonymous = browser.request.get(url + "/admin")
    assert anonymous.status == 401 and anonymous.headers["www-authenticate"].startswith("Basic")

    reader.goto(url + "/admin?since=7d")
    expect()(reader.get_by_role("heading", name="Missing terms")).to_be_visible()
    table = reader.locator("table").first
    expect()(table).to_contain_text("FlashAttention")
    expect()(table.locator("tbody tr").first).to_contain_text("3")  # asked three times, ranked first
    expect()(reader.locator("svg.plot rect.bar")).to_have_count(7)  # one bar per day of the week
    reader.set_viewport_size({"width": 1000, "height": 1300})
    reader.screenshot(path=str(artifacts / "admin.png"), full_page=True)
    login = {"Authorization": "Basic " + base64.b64encode(":".join(ADMIN).encode()).decode()}
    csv = reader.request.get(url + "/admin/questions.csv?since=7d", headers=login)
    assert csv.ok and "FlashAttention 是什么" in csv.text()
