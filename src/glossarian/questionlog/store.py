"""The question log's database: engine (SQLite in GLOSSARIAN_HOME with WAL, or GLOSSARIAN_DATABASE_URL),
migrations from the files shipped in migrations/, and one function per read or write (sqlite-utils style).

Every call opens a short connection from the pool, so several threads and several replicas can share one
database; PostgreSQL serialises the replicas' migrations with an advisory lock (see migrations/env.py).
"""
from __future__ import annotations

import secrets
import threading
from datetime import datetime, timedelta, timezone
from importlib import resources
from pathlib import Path

from sqlalchemy import create_engine, delete, event, func, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from glossarian.config import Settings
from glossarian.questionlog.schema import feedback, meta, questions

SQLITE_FILE = "questions.db"
CONNECT_TIMEOUT_S = 3  # a dead PostgreSQL must fail a write quickly, not hang the writer for minutes
SQLITE_BUSY_MS = 5000  # several processes (server, CLI runs) write to one SQLite file
# Alembic keeps its running migration in module globals: one migration at a time per process. Across
# processes PostgreSQL's advisory lock (migrations/env.py) takes over.
_MIGRATING = threading.Lock()


def database_url(settings: Settings) -> str:
    if settings.database_url:
        return settings.database_url
    return f"sqlite:///{Path(settings.home).expanduser() / SQLITE_FILE}"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            try:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            except OSError:  # a read-only home: writes fail later and are counted, answers go on
                pass
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_MS / 1000, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")  # readers (admin page, gaps) never block the writer
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
            cur.close()

        return engine
    args = {"connect_timeout": CONNECT_TIMEOUT_S} if url.startswith("postgresql") else {}
    return create_engine(url, connect_args=args, pool_pre_ping=True, pool_size=2, max_overflow=4)


def redact(url: str) -> str:
    """The URL without its password, for log lines and messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<database>"


class Store:
    def __init__(self, url: str):
        self.url = url
        try:
            self.engine = make_engine(url)
        except Exception as exc:  # a typo in the URL or a driver that is not installed
            from glossarian.errors import GlossarianError

            raise GlossarianError(f"GLOSSARIAN_DATABASE_URL={redact(url)!r} cannot be used: {exc}",
                                  "Use e.g. postgresql+psycopg://user:password@host:5432/glossarian, "
                                  "or unset it for SQLite in GLOSSARIAN_HOME.") from None
        self._migrated = False
        self._lock = threading.Lock()
        self._salt: str | None = None

    # -- schema ------------------------------------------------------------------------------
    def migrate(self) -> None:
        """Bring the schema to the newest migration (once per process; cheap when already there)."""
        if self._migrated:
            return
        with self._lock, _MIGRATING:
            if self._migrated:
                return
            from alembic import command
            from alembic.config import Config
            from alembic.runtime.migration import MigrationContext
            from alembic.script import ScriptDirectory

            folder = resources.files("glossarian.questionlog") / "migrations"
            config = Config()
            config.set_main_option("script_location", str(folder))
            head = ScriptDirectory.from_config(config).get_current_head()
            with self.engine.connect() as conn:
                current = MigrationContext.configure(conn).get_current_revision()
            if current != head:
                with self.engine.connect() as conn:
                    config.attributes["connection"] = conn
                    command.upgrade(config, "head")
                    conn.commit()
            self._migrated = True

    # -- writes ------------------------------------------------------------------------------
    def insert_questions(self, rows: list[dict]) -> None:
        self.migrate()
        with self.engine.begin() as conn:
            conn.execute(insert(questions), rows)

    def insert_feedback(self, row: dict) -> None:
        self.migrate()
        with self.engine.begin() as conn:
            conn.execute(insert(feedback), [row])

    def delete_older_than(self, days: int) -> int:
        """Retention: drop questions and feedback older than `days`; returns the number of questions removed."""
        self.migrate()
        cutoff = datetime.now(timezone.utc) - timedelta(days=days)
        with self.engine.begin() as conn:
            removed = conn.execute(delete(questions).where(questions.c.asked_at < cutoff)).rowcount
            conn.execute(delete(feedback).where(feedback.c.created_at < cutoff))
        return removed

    def salt(self) -> str:
        """The per-install salt for client hashes, shared by every replica through the database."""
        if self._salt is None:
            self.migrate()
            with self.engine.begin() as conn:
                value = conn.execute(select(meta.c.value).where(meta.c.key == "client_salt")).scalar()
            if value is None:
                try:
                    with self.engine.begin() as conn:
                        value = secrets.token_hex(16)
                        conn.execute(insert(meta), [{"key": "client_salt", "value": value}])
                except IntegrityError:  # another replica won the race; use its salt
                    with self.engine.begin() as conn:
                        value = conn.execute(select(meta.c.value).where(meta.c.key == "client_salt")).scalar()
            self._salt = value
        return self._salt

    # -- reads -------------------------------------------------------------------------------
    def questions_since(self, since: datetime | None) -> list[dict]:
        return self._rows_since(questions, questions.c.asked_at, since)

    def feedback_since(self, since: datetime | None) -> list[dict]:
        return self._rows_since(feedback, feedback.c.created_at, since)

    def _rows_since(self, table, when, since: datetime | None) -> list[dict]:
        """Every row of `table` whose `when` column is at or after `since` (all rows when None), oldest first."""
        self.migrate()
        query = select(table).order_by(when)
        if since is not None:
            query = query.where(when >= since)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def question(self, answer_id: str) -> dict | None:
        self.migrate()
        with self.engine.connect() as conn:
            row = conn.execute(select(questions).where(questions.c.answer_id == answer_id)).first()
        return dict(row._mapping) if row else None

    def count_questions(self) -> int:
        self.migrate()
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(questions)).scalar_one()
