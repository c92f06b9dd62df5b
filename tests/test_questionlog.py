"""The question log on SQLite and on a real PostgreSQL server: rows, feedback, privacy, retention, restarts,
and a database that dies under load (answers keep coming, the dropped rows are counted)."""
from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import update

from logdb import answer, db_url, fresh_pg_database, pg  # noqa: F401  (fixtures)
from glossarian.errors import InputError
from glossarian.questionlog import LogUnavailable, QuestionLog, utcnow
from glossarian.questionlog.schema import questions
from glossarian.questionlog.store import Store


def open_log(url: str, **kwargs) -> QuestionLog:
    return QuestionLog(Store(url), **kwargs)


def test_rows_record_outcome_channel_page_and_a_hashed_client(db_url):
    log = open_log(db_url)
    ids = [log.record(answer("What is a backbone?", ["backbone", "neck"]), "chat", 0.031),
           log.record(answer("什么是 FlashAttention？", language="zh", missing_term="FlashAttention"), "widget", 0.02,
                      page="https://wiki.example.com/Detection", client="203.0.113.9"),
           log.record(answer("what is the weather"), "api", 0.01, client="203.0.113.9"),
           log.record(answer("softmax of [1,2]", tools=[type("T", (), {"name": "softmax"})()]), "cli", 0.2)]
    assert log.flush(30)
    rows = {r["answer_id"]: r for r in log.store.questions_since(None)}
    assert [rows[i]["channel"] for i in ids] == ["chat", "widget", "api", "cli"]
    assert [rows[i]["outcome"] for i in ids] == ["answered", "missing_term", "abstained", "tool"]
    first, second, third, _ = (rows[i] for i in ids)
    assert first["sources"] == ["backbone", "neck"] and first["top_entry"] == "backbone" and not first["abstained"]
    assert first["latency_ms"] == pytest.approx(31.0)
    assert second["missing_term"] == "FlashAttention" and second["language"] == "zh" and second["abstained"]
    assert second["page"] == "https://wiki.example.com/Detection"
    assert second["question"] == "什么是 FlashAttention？"
    # the same reader gets the same key, and the address itself is stored nowhere
    assert second["client"] and second["client"] == third["client"] and "203.0.113" not in second["client"]
    assert first["client"] is None
    log.close()


def test_feedback_round_trip_and_bad_feedback_is_refused(db_url):
    log = open_log(db_url)
    answer_id = log.record(answer("What is a neck?", ["neck"]), "api", 0.01)
    log.add_feedback(answer_id, -1, "  the example is wrong ", channel="widget")
    log.add_feedback(answer_id, 1)
    stored = log.store.feedback_since(None)
    assert [(f["answer_id"], f["rating"], f["comment"], f["channel"]) for f in stored] == [
        (answer_id, -1, "the example is wrong", "widget"), (answer_id, 1, None, "api")]
    with pytest.raises(InputError):
        log.add_feedback("not-an-id", 1)
    with pytest.raises(InputError):
        log.add_feedback(answer_id, 5)
    log.close()


def test_text_logging_off_keeps_outcomes_but_not_words(db_url):
    log = open_log(db_url, keep_text=False)
    answer_id = log.record(answer("my secret project codename", ["backbone"]), "api", 0.01)
    log.add_feedback(answer_id, -1, "private comment")
    assert log.flush(30)
    row = log.store.question(answer_id)
    assert row["question"] is None and row["outcome"] == "answered" and row["top_entry"] == "backbone"
    assert log.store.feedback_since(None)[0]["comment"] is None
    log.close()


def test_retention_deletes_old_rows_only(db_url):
    log = open_log(db_url)
    old = log.record(answer("old question"), "api", 0.01)
    new = log.record(answer("new question"), "api", 0.01)
    assert log.flush(30)
    with log.store.engine.begin() as conn:
        conn.execute(update(questions).where(questions.c.answer_id == old)
                     .values(asked_at=utcnow() - timedelta(days=40)))
    assert log.store.delete_older_than(30) == 1
    assert [r["answer_id"] for r in log.store.questions_since(None)] == [new]
    log.close()


def test_a_restart_loses_no_committed_row(db_url):
    log = open_log(db_url)
    ids = {log.record(answer(f"question {n}", ["backbone"]), "api", 0.01) for n in range(25)}
    log.close()  # the server stops: its queue is flushed first
    reopened = open_log(db_url)
    assert {r["answer_id"] for r in reopened.store.questions_since(None)} == ids
    reopened.close()


def test_replicas_starting_together_migrate_once(pg):  # noqa: F811
    """Four server processes start at once on an empty PostgreSQL database: all start, one schema, one salt."""
    url = fresh_pg_database(pg)
    code = ("import sys; from glossarian.questionlog.store import Store; s = Store(sys.argv[1]); s.migrate(); "
            "print(s.salt())")
    procs = [subprocess.Popen([sys.executable, "-c", code, url], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(4)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], [err for _, err in outputs]
    assert len({out.strip() for out, _ in outputs}) == 1  # every replica hashes clients the same way


def test_postgres_crash_keeps_committed_rows_and_an_outage_is_counted_not_raised(pg, tmp_path):  # noqa: F811
    url = fresh_pg_database(pg)
    log = open_log(url)
    before = {log.record(answer(f"before {n}", ["neck"]), "api", 0.01) for n in range(20)}
    assert log.flush(30)
    pg.stop("immediate")  # a crash: no clean shutdown
    try:
        during = [log.record(answer(f"during {n}"), "api", 0.01) for n in range(30)]  # never raises, never waits
        assert len(during) == 30
        with pytest.raises(LogUnavailable) as refused:
            log.add_feedback(during[0], -1)
        assert "unreachable" in refused.value.message
        assert log.flush(60)
        assert log.writer.dropped == 30 and log.writer.failures >= 1
    finally:
        pg.start()
    after = log.record(answer("after the restart", ["head"]), "api", 0.01)
    assert log.flush(30)
    stored = {r["answer_id"] for r in log.store.questions_since(None)}
    assert before <= stored and after in stored and not set(during) & stored
    log.close()
