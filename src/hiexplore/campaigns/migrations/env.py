"""Alembic environment: the connection comes from the caller (``config.attributes['connection']``).

No alembic.ini and no logging set-up: :func:`hiexplore.campaigns.store.migrate` builds the
configuration in code and hands over an open connection, so SQLite and PostgreSQL run the same
migrations through the same path.
"""

from __future__ import annotations

from alembic import context

from hiexplore.campaigns.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:  # pragma: no cover - always given by store.migrate
        raise RuntimeError("hiexplore's campaign migrations run through hiexplore.campaigns.store.migrate")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():  # pragma: no cover
    raise RuntimeError("offline (SQL script) migrations are not supported")
run_migrations_online()
