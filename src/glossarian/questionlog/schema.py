"""The question log's tables (SQLAlchemy Core): one schema for SQLite and PostgreSQL; migrations/ creates it."""
from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, DateTime, Float, Integer, MetaData, SmallInteger, String, Table, Text

metadata = MetaData()

# One row per answered question. `question` is NULL when the admin turned text logging off.
questions = Table(
    "questions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("answer_id", String(32), nullable=False, unique=True),
    Column("asked_at", DateTime(timezone=True), nullable=False, index=True),
    Column("channel", String(16), nullable=False),          # chat | widget | api | cli
    Column("page", String(500)),                            # the wiki page the widget was opened on
    Column("language", String(8), nullable=False),
    Column("intent", String(32)),
    Column("question", Text),
    Column("sources", JSON, nullable=False),                # entry ids, in citation order
    Column("top_entry", String(120), index=True),
    Column("abstained", Boolean, nullable=False),
    Column("missing_term", String(200), index=True),
    Column("tools", JSON, nullable=False),                  # tool names that ran
    Column("outcome", String(16), nullable=False),          # answered | abstained | missing_term | tool
    Column("latency_ms", Float, nullable=False),
    Column("client", String(16)),                           # salted hash, never the address itself
)

feedback = Table(
    "feedback", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("answer_id", String(32), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("rating", SmallInteger, nullable=False),        # +1 👍, -1 👎
    Column("comment", Text),
    Column("channel", String(16), nullable=False),
)

# Install-wide values every replica shares (the salt for client hashes).
meta = Table(
    "meta", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)
