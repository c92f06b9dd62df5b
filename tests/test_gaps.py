"""The gap report on a seeded question log (SQLite and PostgreSQL), through `glossarian gaps` as a user runs it:
ranking of missing terms, clusters of unanswered questions, worst-rated and most-asked, and --draft."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from helpers import CORPUS, REPO, cli_env, copy_entries, run_cli
from logdb import db_url, pg, seed_row  # noqa: F401  (fixtures)
from glossarian.questionlog import utcnow
from glossarian.questionlog.store import Store

pytestmark = pytest.mark.slow

# A week of questions: three terms the glossary lacks (FlashAttention 4× in three spellings and two languages,
# SwiGLU 2×, one term asked 40 days ago), off-topic questions, and questions the glossary answered. "The glossary"
# is the four detection entries of helpers.SMALL_CORPUS_IDS: the shipped corpus has since gained FlashAttention and
# SwiGLU (readers asked for them), which the last part of the report test uses.
SEED = [
    ("What is FlashAttention?", "FlashAttention", None, 0.1, "en"),
    ("how does flash attention work", "flash attention", None, 1, "en"),
    ("FlashAttention 是什么", "FlashAttention", None, 2, "zh"),
    ("why is Flash-Attention faster than normal attention", "Flash-Attention", None, 3, "en"),
    ("What is SwiGLU?", "SwiGLU", None, 0.5, "en"),
    ("explain the swiglu activation", "SwiGLU", None, 4, "en"),
    ("what is mixture of depths", "mixture of depths", None, 40, "en"),
    ("what is the weather like today", None, None, 1, "en"),
    ("who won the football match yesterday", None, None, 2, "en"),
    ("What is a backbone?", None, "backbone", 1, "en"),
    ("backbone 是什么", None, "backbone", 2, "zh"),
    ("What does the neck do?", None, "neck", 3, "en"),
    ("Tell me about the Backbone", "Backbone", None, 1, "en"),  # a term the corpus has: not a gap
]


def seed(url: str) -> dict:
    store = Store(url)
    rows = [seed_row(q, missing, top, days, lang) for q, missing, top, days, lang in SEED]
    store.insert_questions(rows)
    by_question = {r["question"]: r for r in rows}
    for rating, comment in ((-1, "too short"), (-1, None), (1, None)):
        store.insert_feedback(dict(answer_id=by_question["What does the neck do?"]["answer_id"], created_at=utcnow(),
                                   rating=rating, comment=comment, channel="api"))
    store.insert_feedback(dict(answer_id=by_question["What is a backbone?"]["answer_id"], created_at=utcnow(),
                               rating=-1, comment=None, channel="chat"))
    store.engine.dispose()
    return by_question


def gaps(url: str, corpus: Path, *args: str):
    env = cli_env(corpus=corpus, database_url=url)
    return run_cli("gaps", *args, env=env)


def test_gap_report_ranks_missing_terms_groups_unanswered_and_lists_ratings(db_url, tmp_path):
    seed(db_url)
    corpus = copy_entries(tmp_path / "corpus")
    result = gaps(db_url, corpus, "--since", "7d", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["questions"] == 12  # the 40-day-old one is outside the week
    terms = [(m["term"], m["count"]) for m in report["missing_terms"]]
    assert terms == [("FlashAttention", 4), ("SwiGLU", 2)]  # spellings merged; Backbone is in the glossary
    assert report["missing_terms"][0]["examples"][0] == "What is FlashAttention?"  # most recent first
    clusters = [set(c["examples"]) for c in report["clusters"]]
    flash = next(c for c in report["clusters"] if "What is FlashAttention?" in c["examples"])
    assert flash["count"] >= 3 and not any("SwiGLU" in q or "weather" in q for q in flash["examples"])
    assert {"what is the weather like today"} in clusters  # off-topic questions stay on their own
    assert not any({"What is SwiGLU?", "What is FlashAttention?"} <= c for c in clusters)
    worst = report["worst_rated"]
    assert [(w["top_entry"], w["down"], w["up"]) for w in worst] == [("neck", 2, 1), ("backbone", 1, 0)]
    assert worst[0]["comments"] == ["too short"]
    assert report["most_asked"][0] == {"entry": "backbone", "count": 2}
    assert sum(d["questions"] for d in report["days"]) == 12

    text = gaps(db_url, corpus, "--since", "all")
    assert text.returncode == 0, text.stderr
    assert "FlashAttention  ×4" in text.stdout and "mixture of depths  ×1" in text.stdout

    # The maintainer adds the shipped FlashAttention entry: the term leaves the report, SwiGLU stays.
    shutil.copy(CORPUS / "flash-attention.md", corpus / "flash-attention.md")
    after = gaps(db_url, corpus, "--since", "7d", "--json")
    assert after.returncode == 0, after.stderr
    assert [(m["term"], m["count"]) for m in json.loads(after.stdout)["missing_terms"]] == [("SwiGLU", 2)]


def test_drafts_pass_corpus_check_and_are_never_overwritten(db_url, tmp_path):
    seed(db_url)
    corpus = copy_entries(tmp_path / "corpus")
    shipped = {p.name for p in corpus.glob("*.md")}
    first = gaps(db_url, corpus, "--draft", "2")
    assert first.returncode == 0, first.stderr
    drafted = sorted(p.name for p in corpus.glob("*.md") if p.name not in shipped)
    assert drafted == ["flashattention.md", "swiglu.md"]
    text = (corpus / "flashattention.md").read_text("utf-8")
    assert "status: draft" in text and "### 为什么" in text and "### How it works" in text
    assert "What is FlashAttention?" in text  # the readers' questions, for the reviewer
    # In the corpus (the copied entries' `related` links point at entries left behind): no problem names a draft ...
    check = run_cli("corpus", "check", env=cli_env(corpus=corpus))
    assert not [line for line in check.stdout.splitlines() if "/flashattention.md:" in line or "/swiglu.md:" in line]
    # ... and on their own the drafts pass outright.
    alone = tmp_path / "drafts"
    alone.mkdir()
    for name in drafted:
        shutil.copy(corpus / name, alone / name)
    check = run_cli("corpus", "check", env=cli_env(corpus=alone))
    assert check.returncode == 0 and "OK: 2 entries" in check.stdout, check.stdout + check.stderr

    (corpus / "swiglu.md").write_text((corpus / "swiglu.md").read_text("utf-8").replace("待补充", "已审阅"), "utf-8")
    again = gaps(db_url, corpus, "--draft", "2", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["drafts"]["written"] == []
    assert "已审阅" in (corpus / "swiglu.md").read_text("utf-8")  # the reviewer's edit survives


def test_an_unreachable_database_is_one_clear_error(tmp_path):
    result = gaps("postgresql+psycopg://nobody@127.0.0.1:9/none", REPO / "corpus")
    assert result.returncode == 2
    assert "Cannot read the question log" in result.stderr and "GLOSSARIAN_DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr
