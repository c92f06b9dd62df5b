"""Question-log test helpers: a fresh database per test on SQLite and on a real PostgreSQL (pgserver.py),
and answers built the way the assistant builds them (real Entry and Hit records from the shipped corpus)."""
from __future__ import annotations

import itertools
import uuid
from datetime import timedelta

import pytest

from helpers import CORPUS

_names = itertools.count()


@pytest.fixture(scope="session")
def pg():
    from pgserver import postgres_server

    with postgres_server() as server:
        yield server


def fresh_pg_database(server) -> str:
    """A new empty database on the test server; its URL."""
    from sqlalchemy import create_engine, text

    name = f"log_{next(_names)}_{uuid.uuid4().hex[:6]}"
    engine = create_engine(server.url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return server.url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'questions.db'}"
    return fresh_pg_database(request.getfixturevalue("pg"))


def entry(entry_id: str):
    from glossarian.corpus import parse_entry

    return parse_entry(CORPUS / f"{entry_id}.md", CORPUS)[0]


def answer(question: str, sources=(), language: str = "en", missing_term: str | None = None, tools=()):
    """An Answer as the assistant returns it; `missing_term` set as an attribute, as the new answer engine will."""
    from glossarian.answer import Answer
    from glossarian.retrieval import Hit

    hits = [Hit(entry(s), 0.9, 0.5, True) for s in sources]
    a = Answer(question=question, language=language, answer="…", sources=hits, abstained=not hits,
               tool_calls=list(tools))
    if missing_term:
        a.missing_term = missing_term
    return a


def seed_row(question, missing=None, top=None, days=0.0, language="en", channel="api"):
    """One stored row, dated `days` ago (for the gap report's ranking tests)."""
    from glossarian.questionlog import utcnow

    return dict(answer_id=uuid.uuid4().hex, asked_at=utcnow() - timedelta(days=days), channel=channel, page=None,
                language=language, intent=None, question=question, sources=[top] if top else [], top_entry=top,
                abstained=top is None, missing_term=missing, tools=[],
                outcome="missing_term" if missing else ("answered" if top else "abstained"), latency_ms=20.0,
                client=None)
