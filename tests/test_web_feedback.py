"""The question log through the web app and the CLI, on SQLite and a real PostgreSQL: answer_id and rows
for API, widget and CLI questions, POST /api/feedback, /admin behind its login, /metrics in the Prometheus
format, and a PostgreSQL killed under load (every question answered, the dropped writes counted)."""
from __future__ import annotations

import base64
import os
import threading
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from helpers import cli_env, copy_entries, run_cli, running
from logdb import db_url, fresh_pg_database, pg  # noqa: F401  (fixtures)
from glossarian.assistant import Assistant
from glossarian.config import Settings
from glossarian.questionlog import QuestionLog
from glossarian.questionlog.store import Store
from glossarian.web import create_app

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A four-entry corpus and its index, built once: the log does not need the whole glossary."""
    work = tmp_path_factory.mktemp("feedback-web")
    settings = Settings(home=Path(os.environ["GLOSSARIAN_HOME"]), corpus=copy_entries(work / "corpus"),
                        index=work / "index", rate_limit=0)
    assistant = Assistant(settings)
    assistant.warm_up()
    return settings, assistant


@pytest.fixture
def serve(small):
    """serve(url, **settings changes) -> (base URL, its QuestionLog); servers stop after the test."""
    stack = []

    def start(url: str, **changes):
        settings, assistant = small
        log = QuestionLog(Store(url))
        ctx = running(create_app(settings.with_(**changes), assistant, question_log=log))
        stack.append((ctx, log))
        return ctx.__enter__(), log

    yield start
    for ctx, log in reversed(stack):
        ctx.__exit__(None, None, None)
        log.close(1)


def metrics(base: str) -> dict:
    """{(name, frozenset(labels)): value} from /metrics, parsed by the Prometheus text parser."""
    r = httpx.get(base + "/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(r.text) for s in family.samples}


def total(samples: dict, name: str, **labels) -> float:
    return sum(v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= ls)


def test_api_and_widget_answers_are_logged_and_take_feedback(serve, db_url):
    base, log = serve(db_url)
    api = httpx.post(base + "/api/ask", json={"question": "What is a backbone?"}, timeout=60).json()
    widget = httpx.post(base + "/api/ask", json={"question": "什么是 FlashAttention？", "channel": "widget",
                                                 "page": "https://wiki.example.com/wiki/Detection"}, timeout=60).json()
    assert len(api["answer_id"]) == 32 and api["answer_id"] != widget["answer_id"]
    assert log.flush(30)
    rows = {r["answer_id"]: r for r in log.store.questions_since(None)}
    assert rows[api["answer_id"]]["channel"] == "api" and rows[api["answer_id"]]["top_entry"] == "backbone"
    assert rows[api["answer_id"]]["question"] == "What is a backbone?" and not rows[api["answer_id"]]["abstained"]
    w = rows[widget["answer_id"]]
    assert (w["channel"], w["page"], w["language"]) == ("widget", "https://wiki.example.com/wiki/Detection", "zh")
    assert w["client"] and "127.0.0.1" not in w["client"]

    r = httpx.post(base + "/api/feedback", json={"answer_id": api["answer_id"], "rating": -1,
                                                 "comment": "needs an example"})
    assert r.status_code == 201 and r.json() == {"ok": True}
    assert [(f["answer_id"], f["rating"], f["comment"]) for f in log.store.feedback_since(None)] == [
        (api["answer_id"], -1, "needs an example")]
    for body, status in (({"answer_id": "nope", "rating": 1}, 422), ({"answer_id": api["answer_id"], "rating": 3}, 422),
                         ({"answer_id": api["answer_id"]}, 422), ({"rating": 1, "extra": 1}, 422)):
        refused = httpx.post(base + "/api/feedback", json=body)
        assert refused.status_code == status and refused.json()["hint"], body
    assert httpx.post(base + "/api/feedback", content=b"{oops").status_code == 400
    assert httpx.post(base + "/api/ask", json={"question": "x", "channel": "fax"}).status_code == 422


def test_cli_questions_are_logged(small, db_url):
    settings, _ = small
    env = cli_env(corpus=settings.corpus, index=settings.index, database_url=db_url)
    result = run_cli("ask", "What is a neck?", env=env)
    assert result.returncode == 0, result.stderr
    rows = Store(db_url).questions_since(None)
    assert [(r["channel"], r["question"], r["top_entry"]) for r in rows] == [("cli", "What is a neck?", "neck")]


def test_metrics_parse_and_count_answers_routes_and_the_index(serve, tmp_path):
    base, log = serve(f"sqlite:///{tmp_path / 'q.db'}")
    # Tool runs are counted per process (tools/registry.py), like any Prometheus counter of a server process; this
    # test process has run tools for other tests before, so they are compared with what was there before.
    before = metrics(base)
    for q in ("What is a backbone?", "what is the weather in Paris", "softmax of [1, 2, 3]"):
        assert httpx.post(base + "/api/ask", json={"question": q}, timeout=60).status_code == 200
    assert httpx.get(base + "/healthz").status_code == 200
    assert log.flush(30)
    m = metrics(base)
    assert total(m, "glossarian_answers_total", outcome="answered", channel="api") == 1
    assert total(m, "glossarian_answers_total", outcome="abstained") == 1
    assert total(m, "glossarian_answers_total", outcome="tool") == 1
    for name, labels, ran in (("glossarian_tool_runs_total", {"tool": "softmax_temperature"}, 1),
                              ("glossarian_tool_runs_total", {}, 1), ("glossarian_tool_failures_total", {}, 0)):
        assert total(m, name, **labels) - total(before, name, **labels) == ran, (name, labels)
    assert total(m, "glossarian_http_requests_total", route="/api/ask", method="POST", status="200") == 3
    assert total(m, "glossarian_http_request_duration_seconds_count", route="/api/ask") == 3
    assert total(m, "glossarian_index_entries") == 4 and total(m, "glossarian_index_age_seconds") >= 0
    assert any(n == "glossarian_index_info" for n, _ in m)
    assert total(m, "glossarian_question_log_written_total") == 3
    assert total(m, "glossarian_question_log_dropped_total") == 0
    httpx.get(base + "/no/such/" + "x" * 50)  # scanners' random paths share one label
    assert not any("x" * 50 in str(labels) for _, labels in metrics(base))


def test_admin_page_needs_a_login_and_exports_csv(serve, small, tmp_path):
    url = f"sqlite:///{tmp_path / 'q.db'}"
    closed, _ = serve(url)
    r = httpx.get(closed + "/admin")
    assert r.status_code == 403 and "GLOSSARIAN_ADMIN_TOKEN" in r.json()["hint"]

    base, log = serve(url, admin_token="s3cret-admin", ui_auth="editor:pw-for-editors")
    httpx.post(base + "/api/ask", json={"question": "What is a backbone?"}, timeout=60)
    assert log.flush(30)
    assert httpx.get(base + "/admin").status_code == 401
    assert httpx.get(base + "/admin").headers["www-authenticate"].startswith("Basic")
    assert httpx.get(base + "/admin", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert httpx.get(base + "/admin/questions.csv", auth=("editor", "wrong")).status_code == 401
    page = httpx.get(base + "/admin", headers={"Authorization": "Bearer s3cret-admin"})
    assert page.status_code == 200 and "Missing terms" in page.text and "<svg" in page.text
    assert httpx.get(base + "/admin?since=all", auth=("editor", "pw-for-editors")).status_code == 200
    assert httpx.get(base + "/admin?since=soon", auth=("x", "s3cret-admin")).status_code == 400
    csv = httpx.get(base + "/admin/questions.csv?since=all", auth=("editor", "pw-for-editors"))
    lines = csv.text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("asked_at,channel,page") and "What is a backbone?" in lines[1]
    report = httpx.get(base + "/admin/report.json", auth=("editor", "pw-for-editors")).json()
    assert report["questions"] == 1 and report["most_asked"] == [{"entry": "backbone", "count": 1}]


def test_postgres_killed_under_load_fails_no_question_and_counts_dropped_writes(serve, pg):  # noqa: F811
    base, log = serve(fresh_pg_database(pg))
    questions = ["What is a backbone?", "什么是 neck？", "What does the head do?", "global average pooling 是什么"]
    statuses: list[int] = []
    ids: list[str] = []
    killed = threading.Event()

    def client(n: int):
        with httpx.Client(timeout=60) as http:
            for i in range(12):
                if n == 0 and i == 4:
                    pg.stop("immediate")  # the database dies while questions are in flight
                    killed.set()
                r = http.post(base + "/api/ask", json={"question": questions[(n + i) % 4]})
                statuses.append(r.status_code)
                ids.append(r.json().get("answer_id"))

    try:
        threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        assert killed.is_set()
        assert statuses == [200] * 48  # not one question failed
        down = httpx.post(base + "/api/feedback", json={"answer_id": ids[-1], "rating": -1})
        assert down.status_code == 503 and "unreachable" in down.json()["error"]
        assert log.flush(120)
        m = metrics(base)
        dropped = total(m, "glossarian_question_log_dropped_total")
        written = total(m, "glossarian_question_log_written_total")
        assert dropped > 0 and dropped + written == 48
        assert total(m, "glossarian_question_log_write_failures_total") >= 1
    finally:
        pg.start()
    stored = {r["answer_id"] for r in log.store.questions_since(None)}
    assert len(stored) == written and stored <= set(ids)  # every write that was committed survived the crash
    after = httpx.post(base + "/api/ask", json={"question": "What is a backbone?"}, timeout=60).json()
    assert httpx.post(base + "/api/feedback", json={"answer_id": after["answer_id"], "rating": 1}).status_code == 201
