"""Alembic environment for the question log: runs on the connection QuestionLog hands over (no alembic.ini)."""
from alembic import context
from sqlalchemy import text

from glossarian.questionlog.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                  transaction_per_migration=False)
with context.begin_transaction():
    if connection.dialect.name == "postgresql":
        # Replicas starting together: one migrates, the others wait here and then find nothing to do.
        connection.execute(text("SELECT pg_advisory_xact_lock(726173)"))
    context.run_migrations()
